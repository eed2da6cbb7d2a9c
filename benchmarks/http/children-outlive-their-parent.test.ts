/**
 * The bench's server children once their parent is gone without closing them (a crash past a
 * `finally`, such as load-client-worker-exits-at-start.test.ts's; profile.ts, which has no `finally`;
 * a parent killed on its own): http/issuer-process.ts's child and http/profile-server.ts keep listening
 * on loopback for ever, nothing watching their IPC channel close, and keep the parent's stdout and
 * stderr open (`pnpm bench | tee log` does not end either).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ISSUER_PROCESS = new URL('./issuer-process.ts', import.meta.url).href;
const PROFILE_SERVER = fileURLToPath(new URL('./profile-server.ts', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/** A parent that starts the issuer process as runHttpScenarios does, prints its URL and pid, then idles. */
const PARENT = `
import { readFileSync } from 'node:fs';
import { startIssuerProcess } from ${JSON.stringify(ISSUER_PROCESS)};
const issuer = await startIssuerProcess({ keys: [] });
const pid = Number(readFileSync('/proc/' + process.pid + '/task/' + process.pid + '/children', 'utf8').trim());
process.stdout.write(JSON.stringify({ jwksUri: issuer.jwksUri, pid }) + '\\n');
setInterval(() => {}, 1000);
`;

// A file, not --eval: fork() passes the parent's execArgv (an --eval among them) on to the child.
const directory = mkdtempSync(join(tmpdir(), 'tg-orphans-'));
const parentScript = join(directory, 'parent.mjs');
writeFileSync(parentScript, PARENT);

const children = new Set<number>();
const spawned = new Set<ChildProcess>();

afterAll(() => {
  for (const child of spawned) child.kill('SIGKILL');
  for (const pid of children) if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});

/** Polls `gone` every 50 ms for up to `ms`. */
async function within(ms: number, gone: () => boolean | Promise<boolean>): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await gone()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return gone();
}

/** The first message `child` sends, or a rejection if it exits first or takes over 15 s. */
function firstMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 15 s')), 15_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}`));
    });
  });
}

describe('server children, their parent gone', () => {
  it('the issuer process stops serving when the bench process that forked it dies', async () => {
    const parent = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', parentScript], {
      cwd: REPOSITORY,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    spawned.add(parent);
    const started = await new Promise<{ jwksUri: string; pid: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the parent did not start the issuer within 15 s')),
        15_000,
      );
      parent.stdout?.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        resolve(JSON.parse(chunk.toString()) as { jwksUri: string; pid: number });
      });
      parent.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the parent exited with ${code}`));
      });
    });
    children.add(started.pid);
    const parentGone = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
    parent.kill('SIGKILL');
    await parentGone;
    const answers = async (): Promise<boolean> =>
      fetch(started.jwksUri, { signal: AbortSignal.timeout(1_000) }).then(
        async (response) => {
          await response.arrayBuffer();
          return true;
        },
        () => false,
      );
    const stopped = await within(3_000, async () => !(await answers()));
    expect(stopped, `${started.jwksUri} still answers 3 s after its parent died (pid ${started.pid})`).toBe(
      true,
    );
  });

  it('profile-server exits when its driver is gone (its IPC channel closed)', async () => {
    // Started as http/profile.ts and http/paired.ts start it; mode none needs no issuer.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', PROFILE_SERVER, 'express', 'none', '', '', ''],
      {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        cwd: fileURLToPath(new URL('..', import.meta.url)),
      },
    );
    spawned.add(child);
    await firstMessage(child);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    // What the driver's death does to the channel, seen from the child.
    child.disconnect();
    expect(
      await within(3_000, () => exited),
      'profile-server still running 3 s after its channel closed',
    ).toBe(true);
  });
});
