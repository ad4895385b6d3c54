/**
 * The dashboard page's script, plain browser JavaScript as a string (no
 * framework, no build step, nothing fetched): it listens to `/events`, draws
 * each `status` snapshot into the replicas and providers tables, and adds
 * each `timeline` event at the top of the timeline, keeping the newest 200.
 * Everything is written with `textContent`, never as HTML, so no value from
 * the cluster can become markup.
 */
export const dashboardScript = String.raw`
"use strict"
const $ = (id) => document.getElementById(id)
const el = (tag, text, className) => {
  const node = document.createElement(tag)
  if (text !== undefined && text !== null) node.textContent = String(text)
  if (className) node.className = className
  return node
}
const row = (cells) => {
  const tr = document.createElement("tr")
  for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", cell))
  return tr
}
const td = (...children) => {
  const cell = document.createElement("td")
  cell.append(...children)
  return cell
}
const duration = (millis) => {
  if (millis === null || millis === undefined) return "–"
  const sign = millis < 0 ? "-" : ""
  let s = Math.round(Math.abs(millis) / 1000)
  const h = Math.floor(s / 3600); s -= h * 3600
  const m = Math.floor(s / 60); s -= m * 60
  const parts = [h > 0 ? h + "h" : "", m > 0 ? m + "m" : "", s > 0 || (h === 0 && m === 0) ? s + "s" : ""]
  return sign + parts.filter((part) => part !== "").join(" ")
}
const clock = (iso) => iso ? new Date(iso).toLocaleTimeString() : "–"

const leaderMarker = (text) => el("span", "★ " + text, "leader")

const drawReplicas = (snapshot) => {
  const body = $("replicas-body")
  const leads = new Map()
  for (const p of snapshot.status.providers) {
    if (p.leader) leads.set(p.leader.replica, [...(leads.get(p.leader.replica) || []), p.provider])
  }
  const rows = snapshot.status.replicas.map((r) => {
    const led = leads.get(r.id) || []
    const name = td(el("code", r.id))
    if (r.id === snapshot.self) name.append(" ", el("span", "(this page)", "self"))
    const tr = row([name, td(...led.map((p) => leaderMarker(p))), clock(r.renewedAt)])
    tr.dataset.replica = r.id
    if (led.length > 0) tr.classList.add("leading")
    return tr
  })
  body.replaceChildren(...rows)
  if (rows.length === 0) body.append(row(["no live replica", "", ""]))
}

const gauge = (budget) => {
  const meter = document.createElement("meter")
  meter.min = 0
  meter.max = budget.tokens
  meter.value = budget.left
  meter.low = Math.max(1, budget.tokens / 4)
  meter.optimum = budget.tokens
  const label = budget.left + " of " + budget.tokens + " left per " + duration(budget.windowMillis)
  meter.setAttribute("aria-label", "budget: " + label)
  const next = budget.blockedUntil ? " · blocked until " + clock(budget.blockedUntil) : ""
  return td(meter, " ", el("span", label + next))
}

const drawProviders = (snapshot) => {
  const rows = snapshot.status.providers.map((p) => {
    const leader = p.leader === null ? td(el("span", "none", "warn")) : td(
      leaderMarker(p.leader.replica),
      el("span", " term " + p.leader.term + (p.leader.member ? "" : " (not a live member)"), "term")
    )
    leader.className = "leader-cell"
    const token = p.token
    const breaker = p.breaker.open
      ? td(el("span", "open: " + (p.breaker.reason || ""), "warn"))
      : td(el("span", "closed", "ok"))
    const reports = snapshot.reports[p.provider] || 0
    const tr = row([
      td(el("code", p.provider)),
      leader,
      token ? "v" + token.version + " (" + token.reason + ")" : "none yet",
      token ? duration(token.ageMillis) : "–",
      token ? duration(token.expiresInMillis) : "–",
      gauge(p.budget),
      breaker,
      String(reports)
    ])
    tr.dataset.provider = p.provider
    if (p.problem) tr.title = p.problem
    return tr
  })
  $("providers-body").replaceChildren(...rows)
}

const describe = (e) => {
  switch (e.event) {
    case "token": return "minted v" + e.version + " (" + e.reason + ")"
    case "leader":
      return "leader is now " + e.replica + " (term " + e.term + ")" +
        (e.previous ? ", was " + e.previous.replica + " (term " + e.previous.term + ")" : "")
    case "breaker": return e.open ? "breaker opened: " + (e.reason || "") : "breaker closed"
    case "budget": return "budget: " + e.left + " of " + e.tokens + " left"
    case "unauthorized": return e.count + " 401 report" + (e.count === 1 ? "" : "s") + " received by this replica"
    case "removed": return "state removed"
    default: return e.event
  }
}

const addEvent = (e) => {
  const item = el("li")
  item.dataset.event = e.event
  item.dataset.provider = e.provider
  const time = el("time", clock(e.at))
  time.dateTime = e.at
  item.append(time, " ", el("code", e.provider), " ", el("span", describe(e), "what"))
  const list = $("timeline")
  list.prepend(item)
  while (list.children.length > 200) list.lastElementChild.remove()
}

const connect = () => {
  const source = new EventSource("events")
  source.addEventListener("open", () => { $("connection").textContent = "live" })
  source.addEventListener("error", () => { $("connection").textContent = "reconnecting…" })
  source.addEventListener("unavailable", (m) => { $("connection").textContent = JSON.parse(m.data).reason })
  source.addEventListener("status", (m) => {
    const snapshot = JSON.parse(m.data)
    $("connection").textContent = "live"
    $("served-by").textContent = snapshot.self
    $("updated").textContent = clock(snapshot.status.at)
    $("updated").dateTime = snapshot.status.at
    drawReplicas(snapshot)
    drawProviders(snapshot)
  })
  source.addEventListener("timeline", (m) => {
    const e = JSON.parse(m.data)
    // Budget changes show in the gauge at the next snapshot; one line per call spent would crowd out the rest.
    if (e.event !== "budget") addEvent(e)
  })
}
connect()
`
