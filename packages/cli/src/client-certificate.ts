import { createHash, X509Certificate } from 'node:crypto';
import { open } from 'node:fs/promises';
import { certificateThumbprint } from '@tokenguard/core';
import { printable } from './text.js';
import { UsageError } from './usage.js';

/**
 * The client certificate of `--client-certificate <file>`, as `verify` hands it to the validator.
 *
 * @example
 * ```ts
 * const { certificate, thumbprint } = await readClientCertificate('client.pem');
 * ```
 */
export interface ClientCertificate {
  /** The file it was read from, as given. */
  readonly file: string;
  /** What the request carries: the PEM text of the certificate, or its DER bytes. */
  readonly certificate: string | Uint8Array;
  /** Its RFC 8705 `x5t#S256`, from `certificateThumbprint` of @tokenguard/core. */
  readonly thumbprint: string;
}

/** Far beyond any certificate (a few KB), and a bound on what `/dev/zero` or a pipe can make us read. */
const MAX_FILE_BYTES = 1024 * 1024;

/** Every PEM block: its label and its whole text (`-----BEGIN X-----` to `-----END X-----`). */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

function refuse(file: string, why: string): UsageError {
  return new UsageError(`--client-certificate ${printable(file)}: ${why}`);
}

/** The file's bytes, at most {@link MAX_FILE_BYTES}: a pipe (`<(...)`) works, `/dev/zero` ends. */
async function readBounded(file: string): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > MAX_FILE_BYTES) throw refuse(file, 'more than 1 MiB: that is not a certificate');
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = (code === undefined ? undefined : READ_ERRORS[code]) ?? (error as Error).message;
    throw refuse(file, `cannot read it (${why})`);
  } finally {
    await handle?.close();
  }
}

/** The DER of the X.509 certificate `value` holds, or `undefined` when it holds none. */
function parseCertificate(value: string | Uint8Array): Buffer | undefined {
  try {
    return new X509Certificate(value).raw;
  } catch {
    return undefined;
  }
}

/**
 * The one `CERTIFICATE` block of a PEM file. Text around it (the "Bag Attributes" and
 * "subject=" lines `openssl pkcs12` writes) and other blocks (a private key in a combined file) are
 * left aside: the block alone is what the TLS handshake would present. No block, or several (a
 * chain), is refused: which certificate the client presents is then a guess.
 */
function pemCertificate(file: string, text: string): string {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const certificates = blocks.filter((block) => block[1] === 'CERTIFICATE');
  if (certificates.length > 1) {
    throw refuse(
      file,
      `it holds ${certificates.length} certificates (a chain?): give the client's own certificate alone, the one the token is bound to`,
    );
  }
  const [block] = certificates;
  if (block === undefined) {
    const labels = [...new Set(blocks.map((other) => other[1] as string))];
    throw refuse(
      file,
      labels.length === 0
        ? 'no complete PEM block (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)'
        : `it holds ${labels.join(', ')} but no CERTIFICATE: give the client's certificate${
            labels.some((label) => label.endsWith('PRIVATE KEY')) ? ', not its key' : ' (a CERTIFICATE block)'
          }`,
    );
  }
  return block[0];
}

/**
 * Reads `--client-certificate <file>`: PEM (one `CERTIFICATE` block) or DER. Throws a
 * {@link UsageError} saying what is wrong for a file that cannot be read or is not one X.509
 * certificate (the thumbprint would then prove nothing). The file's content is never printed.
 *
 * @example
 * ```ts
 * const client = await readClientCertificate('client.pem');
 * await authenticateRequest(validator, { headers, clientCertificate: client.certificate });
 * ```
 */
export async function readClientCertificate(file: string): Promise<ClientCertificate> {
  const bytes = await readBounded(file);
  if (bytes.byteLength === 0) throw refuse(file, 'the file is empty');
  const certificate = bytes.includes('-----BEGIN ')
    ? pemCertificate(file, bytes.toString('utf8'))
    : new Uint8Array(bytes);
  const thumbprint = certificateThumbprint(certificate);
  const der = parseCertificate(certificate);
  if (thumbprint === undefined || der === undefined) {
    throw refuse(
      file,
      typeof certificate === 'string'
        ? 'its CERTIFICATE block is not an X.509 certificate (bad base64 or DER inside)'
        : 'not a certificate: neither PEM (-----BEGIN CERTIFICATE-----) nor DER X.509',
    );
  }
  // The thumbprint covers every byte; a TLS client presents the certificate alone.
  if (createHash('sha256').update(der).digest('base64url') !== thumbprint) {
    throw refuse(file, 'it has bytes after the certificate: its thumbprint would name no certificate');
  }
  return { file, certificate, thumbprint };
}
