/**
 * The dashboard every replica serves at `/` on its HTTP port: one static
 * page, its style and script inline (internal/DashboardScript.ts), so it
 * works offline, loads nothing from elsewhere and is part of the bundle as
 * it is of the package. The page is the same for every replica; what it
 * shows arrives on `/events` (DashboardSource.ts). The content security
 * policy it is served with allows only itself.
 */
import { dashboardScript } from "./internal/DashboardScript.ts"

const style = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #b35900; --lead: #8250df; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; }
header { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; align-items: baseline; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; padding-bottom: .4rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #8884; vertical-align: top; }
th { font-weight: 600; }
code { font-size: .92em; }
meter { width: 7rem; vertical-align: middle; }
.leader { color: var(--lead); font-weight: 600; margin-right: .5rem; white-space: nowrap; }
tr.leading td:first-child { border-left: 4px solid var(--lead); }
.term, .self, time { color: #888; }
.ok { color: var(--ok); }
.warn { color: var(--warn); font-weight: 600; }
ol#timeline { list-style: none; padding: 0; margin: 0; max-height: 24rem; overflow-y: auto; }
ol#timeline li { padding: .25rem 0; border-bottom: 1px solid #8882; }
li[data-event="token"] .what { color: var(--ok); font-weight: 600; }
li[data-event="leader"] .what { color: var(--lead); }
li[data-event="unauthorized"] .what, li[data-event="breaker"] .what { color: var(--warn); }
`

export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tokenbus dashboard</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>tokenbus</h1>
  <p>served by <code id="served-by">…</code></p>
  <p>status at <time id="updated">…</time></p>
  <p>events: <span id="connection" role="status">connecting…</span></p>
</header>
<main>
  <section aria-labelledby="replicas-title">
    <h2 id="replicas-title">Replicas</h2>
    <table id="replicas">
      <caption>Live members of the cluster, and the providers each leads (★)</caption>
      <thead><tr><th scope="col">Replica</th><th scope="col">Leads</th><th scope="col">Renewed</th></tr></thead>
      <tbody id="replicas-body"></tbody>
    </table>
  </section>
  <section aria-labelledby="providers-title">
    <h2 id="providers-title">Providers</h2>
    <table id="providers">
      <caption>Per provider: its leader (★) and term, the current token, the budget and the breaker</caption>
      <thead><tr>
        <th scope="col">Provider</th><th scope="col">Leader</th><th scope="col">Version</th>
        <th scope="col">Age</th><th scope="col">Expires in</th><th scope="col">Budget</th>
        <th scope="col">Breaker</th><th scope="col">401s here</th>
      </tr></thead>
      <tbody id="providers-body"></tbody>
    </table>
  </section>
  <section aria-labelledby="timeline-title">
    <h2 id="timeline-title">Timeline</h2>
    <p>Mints and their reasons, 401 reports this replica received, leader and breaker changes; newest first.</p>
    <ol id="timeline" aria-live="polite" aria-relevant="additions"></ol>
  </section>
</main>
<script>${dashboardScript}</script>
</body>
</html>
`

/** Inline style and script only; nothing from elsewhere, no frames, no forms. */
export const dashboardPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
