import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, cp, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMariadb } from '../src/db/embedded/binaries.js';
import { isAlive } from '../src/db/embedded/processes.js';
import type { EmbeddedState } from '../src/db/embedded/supervisor.js';
import { CITIES } from '../src/sources/generator/belgium.js';
import { waitFor } from './helpers/database.js';
import { type WatchedProcess, watchProcess } from './helpers/watched-process.js';

/**
 * The first ten minutes, as a fresh machine sees them: a copy of this checkout (its files without
 * .data/, dist/ and .git; node_modules linked, as `npm ci` would make it) run in a network
 * namespace of this file's own, where nothing listens on 127.0.0.1:3306 while mariadbd is
 * installed (the namespace has a loopback of its own; the file system is shared). The tests run
 * in order, as a newcomer would: the quick start first, then what comes after.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NOT_COPIED = new Set(['node_modules', '.data', 'dist', '.git', 'coverage', 'bench/.data']);

let clone: string;
let holder: ChildProcess;
const started: ChildProcess[] = [];

/** The environment of a new shell: nothing that names a database, no test runner's variables. */
const freshEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) =>
      !/^(DB_|DATABASE_URL$|MIGRATE_ON_START$|NODE_ENV$|PORT$|API_TOKENS$|VITEST|TEST$|npm_|NODE_OPTIONS$)/.test(
        name,
      ),
  ),
);

function track(child: ChildProcess): WatchedProcess {
  started.push(child);
  // 'close', as the demo needs: npm ends at Ctrl-C without waiting for its script.
  return watchProcess(child, { exitOn: 'close' });
}

/**
 * A command in the namespace, in the copy, in a process group of its own as a terminal starts
 * it (so that a "Ctrl-C" reaches the whole group).
 */
function inside(command: string, args: string[], env: Record<string, string> = {}): WatchedProcess {
  return track(
    spawn('nsenter', [`--net=/proc/${holder.pid}/ns/net`, '--', command, ...args], {
      cwd: clone,
      env: { ...freshEnv, ...env },
      detached: true,
    }),
  );
}

/** npm start, straight through node so that a signal reaches the API itself. */
const serve = (env: Record<string, string> = {}) =>
  inside(process.execPath, ['--import', 'tsx', 'src/cli/serve.ts'], { PORT: '0', ...env });

/** A fetch from inside the namespace; resolves with the status and the body. */
async function fetchInside(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const script = `const r = await fetch(${JSON.stringify(url)}, ${JSON.stringify(init)});
    process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() }));`;
  const run = inside(process.execPath, ['--input-type=module', '-e', script]);
  const { code } = await run.exited;
  if (code !== 0) throw new Error(`fetch ${url} failed: ${run.output.text}`);
  return JSON.parse(run.output.text);
}

async function query(base: string, text: string) {
  const { body } = await fetchInside(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: text }),
  });
  return JSON.parse(body);
}

const dataFile = (name: string) => join(clone, '.data', name);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readState(): Promise<EmbeddedState> {
  return JSON.parse(await readFile(dataFile('mariadb.json'), 'utf8'));
}

/** The server and its supervisor are gone, and so is what says they run. */
async function stoppedCompletely(state: EmbeddedState): Promise<void> {
  await waitFor(
    async () => (!isAlive(state.mariadbdPid) && !isAlive(state.supervisorPid) ? true : undefined),
    30_000,
    'the embedded mariadbd and its supervisor to end',
  );
  expect(await exists(dataFile('mariadb.json'))).toBe(false);
  expect(await exists(dataFile('mariadb.sock'))).toBe(false);
}

const listening = (run: WatchedProcess) =>
  run
    .until(/serves GraphQL and GraphiQL at http:\/\/localhost:(\d+)\/graphql/, 'the API to listen')
    .then((match) => `http://127.0.0.1:${match[1]}`);

const notice = (verb: 'started' | 'using', extra = '') =>
  new RegExp(
    `No database configured and nothing at 127\\.0\\.0\\.1:3306: ${verb} the embedded MariaDB \\d+\\.\\d+\\.\\d+ on 127\\.0\\.0\\.1:(\\d+) \\(data in \\.data/mariadb${extra}; it stops when the last belair process using it exits\\)`,
  );

beforeAll(async () => {
  clone = await mkdtemp(join(tmpdir(), 'belair-clone-'));
  // mkdtemp makes it 700: mariadbd, which runs as mysql under root, must pass through it.
  await chmod(clone, 0o755);
  await cp(ROOT, clone, {
    recursive: true,
    filter: (source) => !NOT_COPIED.has(relative(ROOT, source)),
  });
  await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  holder = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && echo up && exec sleep 3600']);
  const up = track(holder);
  await up.until(/^up$/m, 'the network namespace', 10_000);
});

afterAll(async () => {
  for (const child of started) {
    if (child !== holder && child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  }
  // Whatever a failed test left running.
  const state = await readState().catch(() => undefined);
  for (const pid of [state?.supervisorPid, state?.mariadbdPid]) {
    if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  holder?.kill('SIGKILL');
  if (clone) await rm(clone, { recursive: true, force: true });
});

describe('a fresh machine: nothing at 127.0.0.1:3306, mariadbd installed, nothing configured', () => {
  it('is what the namespace is: 127.0.0.1:3306 refuses, and mariadbd is there to be found', async () => {
    const probe = inside(process.execPath, [
      '-e',
      "require('net').connect(3306, '127.0.0.1').on('connect', () => console.log('connected')).on('error', (e) => console.log(e.code))",
    ]);
    await probe.exited;
    expect(probe.output.text).toBe('ECONNREFUSED\n');
    expect(findMariadb('test').mariadbd).toMatch(/\/mariadbd$/);
    expect(await exists(join(clone, '.data'))).toBe(false);
  });

  let demoRuns: number[] = [];

  it('npm run demo initialises and starts a MariaDB of its own and serves windows in GraphiQL, with no other step', async () => {
    const demo = inside('npm', ['run', 'demo']);
    const [, port] = await demo.until(notice('started', ', new'), 'the embedded MariaDB');
    await demo.until(/windows refreshed: run \d+, [\d,]+ measurements in 8 cities\n/, 'a run');
    expect(demo.output.text).toContain('  GraphiQL  http://localhost:4000/graphql\n');
    expect(demo.output.text).toContain(`  database  openaq on 127.0.0.1:${port}\n`);
    const state = await readState();
    expect(state.port).toBe(Number(port));

    const { airQuality } = (
      await query(
        'http://127.0.0.1:4000',
        '{ airQuality { city { names { nl } } run { id } pollutants { parameter count } } }',
      )
    ).data;
    // The generator's cities by their Dutch names, as it spells them ("Brussel" is stored as
    // the city Brussels, whose Dutch name it is).
    expect(
      airQuality.map((w: { city: { names: { nl: string } } }) => w.city.names.nl).sort(),
    ).toEqual(CITIES.map((city) => city.name).sort());
    const runIds = new Set(airQuality.map((w: { run: { id: string } }) => w.run.id));
    expect(runIds.size).toBe(1);
    expect(demo.output.text).toContain(`windows refreshed: run ${[...runIds][0]}, `);
    for (const window of airQuality) {
      expect(window.pollutants.length).toBeGreaterThan(0);
      for (const pollutant of window.pollutants) expect(pollutant.count).toBeGreaterThan(0);
    }
    const graphiql = await fetchInside('http://127.0.0.1:4000/graphql', {
      headers: { accept: 'text/html' },
    });
    expect(graphiql.status).toBe(200);
    expect(graphiql.body).toContain('<title>belair</title>');

    // SIGINT to the demo itself: a Ctrl-C to the whole group would also reach npm and tsx, and
    // tsx, on a busy machine, may pass it on late and then SIGKILL the demo.
    const [, demoPid] = await waitFor(
      async () => {
        const list = inside('pgrep', [
          '-g',
          String(demo.child.pid),
          '-f',
          'preflight.*src/cli/demo',
        ]);
        await list.exited;
        return /^(\d+)\n$/.exec(list.output.text) ?? undefined;
      },
      10_000,
      'the pid of the demo under npm and tsx',
    );
    process.kill(Number(demoPid), 'SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.output.text).toMatch(
      /stopped: [\d,]+ live measurements sent \([\d,]+ new, 0 rejected\)\n\d\d:\d\d:\d\d embedded MariaDB stopped\n$/,
    );
    await stoppedCompletely(state);
    demoRuns = [...demo.output.text.matchAll(/windows refreshed: run (\d+),/g)].map((m) =>
      Number(m[1]),
    );
    expect(demoRuns.length).toBeGreaterThan(0);
  }, 180_000);

  it('two processes started together share one server, which keeps the demo’s data and stops after the last one leaves', async () => {
    const [first, second] = [serve(), serve()];
    const said = await Promise.all(
      [first, second].map((api) =>
        api.until(
          /: (started|using) the embedded MariaDB \S+ on 127\.0\.0\.1:(\d+) \(data in \.data\/mariadb(, shared with 1 other process)?;/,
          'the embedded MariaDB',
        ),
      ),
    );
    // One of them started it; the other found it running, or waited for the lock until it was.
    // Whichever reached the supervisor second was told that it shares the server.
    expect(said.map((match) => match[1]).sort()).toEqual(['started', 'using']);
    expect(said.map((match) => match[3] ?? '').sort()).toEqual([
      '',
      ', shared with 1 other process',
    ]);
    expect(said[0]?.[2]).toBe(said[1]?.[2]);
    await listening(first);
    const base = await listening(second);
    const state = await readState();

    const { airQualityRuns } = (await query(base, '{ airQualityRuns(last: 100) { id } }')).data;
    expect(airQualityRuns.map((run: { id: string }) => Number(run.id)).sort()).toEqual(
      [...demoRuns].sort(),
    );

    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.output.text).toContain('embedded MariaDB left running for 1 other process');
    expect(isAlive(state.mariadbdPid)).toBe(true);
    expect((await query(base, '{ cities { name } }')).data.cities).toHaveLength(CITIES.length);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.output.text).toContain('embedded MariaDB stopped');
    await stoppedCompletely(state);
  }, 120_000);

  it('a killed process leaves nothing that blocks the next start: the server stops by itself, a dead lock holder is passed over', async () => {
    const victim = serve();
    await listening(victim);
    const state = await readState();
    process.kill(victim.child.pid as number, 'SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await stoppedCompletely(state);

    // A process killed while it was starting the server leaves its lock behind.
    const gone = track(spawn('true'));
    await gone.exited;
    await writeFile(dataFile('mariadb.lock'), JSON.stringify({ pid: gone.child.pid, token: 'x' }));
    const next = serve();
    await next.until(notice('started'), 'the next start');
    const base = await listening(next);
    expect((await query(base, '{ cities { name } }')).data.cities).toHaveLength(CITIES.length);
    expect(await exists(dataFile('mariadb.lock'))).toBe(false);
    const again = await readState();
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
    await stoppedCompletely(again);
  }, 120_000);

  it('a killed supervisor leaves a mariadbd that the next start stops; recorded pids of other processes are left alone', async () => {
    const api = serve();
    await listening(api);
    const state = await readState();
    process.kill(state.supervisorPid, 'SIGKILL');
    await waitFor(
      async () => (isAlive(state.supervisorPid) ? undefined : true),
      10_000,
      'the kill',
    );
    expect(isAlive(state.mariadbdPid)).toBe(true);
    api.child.kill('SIGTERM');
    expect(await api.exited).toEqual({ code: 0, signal: null });
    const next = serve();
    await next.until(notice('started'), 'the start after the killed supervisor');
    await listening(next);
    // Gone once its new parent has reaped it.
    await waitFor(
      async () => (isAlive(state.mariadbdPid) ? undefined : true),
      30_000,
      'the mariadbd of the killed supervisor to end',
    );
    next.child.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
    await stoppedCompletely(await readState().catch(() => state));

    // As after a reboot: the recorded pids now belong to other programs, which must live on.
    const stranger = track(spawn('sleep', ['60']));
    await writeFile(
      dataFile('mariadb.json'),
      JSON.stringify({ ...state, supervisorPid: process.pid, mariadbdPid: stranger.child.pid }),
    );
    const after = serve();
    await after.until(notice('started'), 'the start after a reboot');
    await listening(after);
    expect(isAlive(stranger.child.pid as number)).toBe(true);
    const fresh = await readState();
    after.child.kill('SIGTERM');
    expect(await after.exited).toEqual({ code: 0, signal: null });
    await stoppedCompletely(fresh);
    stranger.child.kill('SIGKILL');
  }, 120_000);

  it('npm test runs on the embedded MariaDB too', async () => {
    const run = inside('npx', ['vitest', 'run', 'test/air-quality-levels.test.ts']);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.output.text).toMatch(notice('started'));
    expect(run.output.text).toMatch(/Tests {2}2 passed \(2\)/);
    expect(run.output.text).toContain('embedded MariaDB stopped');
  }, 120_000);

  it('without mariadbd, one screen says what to install', async () => {
    // /usr/sbin hidden under an empty file system, in a mount namespace of its own, and PATH
    // without it: a machine where the server is not installed.
    const run = track(
      spawn(
        'nsenter',
        [
          `--net=/proc/${holder.pid}/ns/net`,
          '--',
          'unshare',
          '-m',
          'sh',
          '-c',
          'mount -t tmpfs none /usr/sbin && exec "$0" "$@"',
          process.execPath,
          '--import',
          'tsx',
          'src/cli/serve.ts',
        ],
        { cwd: clone, env: { ...freshEnv, PATH: '/usr/local/bin:/usr/bin:/bin' } },
      ),
    );
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.output.text).toBe(
      [
        "ERR No database configured and nothing at 127.0.0.1:3306, and MariaDB's server (mariadbd and mariadb-install-db, 10.5 or later) is not installed:",
        'not in PATH, nor in /usr/sbin, /usr/local/sbin, /usr/libexec, /opt/homebrew/bin, /opt/homebrew/sbin, /opt/homebrew/opt/mariadb/bin, /usr/local/bin, /usr/local/opt/mariadb/bin.',
        '',
        'Install it, then run the same command again:',
        '  Debian, Ubuntu     sudo apt-get install mariadb-server',
        '  macOS (Homebrew)   brew install mariadb',
        '  Fedora             sudo dnf install mariadb-server',
        '',
        'or start the MariaDB of docker-compose.yml, which answers at 127.0.0.1:3306:',
        '  docker compose up -d db',
        '',
        'or point belair at a MariaDB of yours with DB_HOSTNAME, DB_PORT, DB_USERNAME and',
        'DB_PASSWORD (or DATABASE_URL). More in docs/embedded-database.md.',
        '',
      ].join('\n'),
    );
    expect(await exists(dataFile('mariadb.json'))).toBe(false);
  });

  it('DB_EMBEDDED=0 rules the embedded MariaDB out, with a clear error', async () => {
    const run = serve({ DB_EMBEDDED: '0' });
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.output.text).toBe(
      'ERR No database is configured and nothing answers at 127.0.0.1:3306; DB_EMBEDDED=0 rules out the embedded MariaDB. Start MariaDB there (docker compose up -d db), or point belair at one with DB_HOSTNAME, DB_PORT, DB_USERNAME and DB_PASSWORD (or DATABASE_URL).\n',
    );
    expect(await exists(dataFile('mariadb.json'))).toBe(false);
  });

  it('a configured database that does not answer is an error, never replaced by the embedded one', async () => {
    const api = serve({ DB_HOSTNAME: '127.0.0.1' });
    expect(await api.exited).toEqual({ code: 1, signal: null });
    expect(api.output.text).toBe(
      'ERR cannot prepare database openaq on 127.0.0.1:3306: connect ECONNREFUSED 127.0.0.1:3306\n',
    );
    const demo = inside('npm', ['run', '--silent', 'demo'], { DB_PORT: '3306' });
    expect(await demo.exited).toEqual({ code: 1, signal: null });
    expect(demo.output.text).toBe(
      'cannot prepare database openaq on 127.0.0.1:3306: connect ECONNREFUSED 127.0.0.1:3306\n',
    );
    expect(await exists(dataFile('mariadb.json'))).toBe(false);
  });
});
