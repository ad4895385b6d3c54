// Certificates for TLS tests, made with the `openssl` command into a temp
// dir: a CA, a server certificate it signed for 127.0.0.1 and localhost, a
// client certificate it signed (mutual TLS), and a client certificate signed
// by another CA, which a server trusting the first refuses. EC P-256 keys,
// valid for a day: quick to make, and nothing outlives the test.
import { execFile } from "node:child_process"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export interface CertificatePair {
  readonly certFile: string
  readonly keyFile: string
}

export interface TestCertificates {
  readonly caFile: string
  readonly server: CertificatePair
  readonly client: CertificatePair
  /** Signed by a CA the server does not trust. */
  readonly strangerClient: CertificatePair
  /** Removes every file. */
  readonly remove: () => Promise<void>
}

const openssl = (...args: ReadonlyArray<string>) => run("openssl", args)

const keyArgs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

const makeCa = async (dir: string, name: string) => {
  const ca = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) }
  const subject = ["-subj", `/CN=${name}`]
  await openssl("req", "-x509", ...keyArgs, "-keyout", ca.keyFile, "-out", ca.certFile, "-days", "1", ...subject)
  return ca
}

/** A certificate for `subject`, signed by `ca`, with `extensions` (an openssl extension file's lines). */
const makeSigned = async (dir: string, name: string, ca: CertificatePair, extensions: ReadonlyArray<string>) => {
  const pair = { certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) }
  const csr = join(dir, `${name}.csr`)
  const extFile = join(dir, `${name}.ext`)
  await writeFile(extFile, `${extensions.join("\n")}\n`)
  await openssl("req", "-new", ...keyArgs, "-keyout", pair.keyFile, "-out", csr, "-subj", `/CN=${name}`)
  await openssl(
    "x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial",
    "-out", pair.certFile, "-days", "1", "-extfile", extFile
  )
  return pair
}

export const makeTestCertificates = async (): Promise<TestCertificates> => {
  const dir = await mkdtemp(join(tmpdir(), "tokenbus-tls-"))
  const ca = await makeCa(dir, "tokenbus-test-ca")
  const stranger = await makeCa(dir, "stranger-ca")
  const clientExtensions = ["extendedKeyUsage=clientAuth"]
  return {
    caFile: ca.certFile,
    server: await makeSigned(dir, "server", ca, [
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "extendedKeyUsage=serverAuth"
    ]),
    client: await makeSigned(dir, "client", ca, clientExtensions),
    strangerClient: await makeSigned(dir, "stranger-client", stranger, clientExtensions),
    remove: () => rm(dir, { recursive: true, force: true })
  }
}
