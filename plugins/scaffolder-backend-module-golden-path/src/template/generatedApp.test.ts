import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import yaml from 'yaml';
import { SERVICE_NAME_PATTERN } from '@internal/plugin-golden-path-common';
import { repoRoot } from './__testUtils__/paths';
import {
  makeTempDir,
  renderSkeleton,
  StepOutputs,
  stepOutputs,
} from './__testUtils__/render';

/**
 * Proves every golden-path template: for each `templates/<id>/verify.yaml`
 * it renders the skeleton with the template's own fetch:template values,
 * runs the generated service's install, lint and tests, then starts it and
 * checks /health, /metrics, the JSON log lines, the database check
 * (DATABASE_URL against the local PostgreSQL, and unreachable) and a clean
 * exit on SIGTERM. verify.yaml is described in templates/README.md.
 */

// ---------------------------------------------------------------------------
// verify.yaml

/** The parsed `verify.yaml` of one template. */
type VerifySpec = {
  /** What `$interpreter` in a command stands for. */
  interpreter?: {
    /** An environment variable that names the program; tried first. */
    env?: string;
    /** Programs to try in order; the first that passes `check` is used. */
    candidates: string[];
    /** Arguments that make a candidate exit 0 only if it can run the app. */
    check: string[];
  };
  install?: string[];
  lint: string[];
  test: string[];
  /** A regular expression the test command's output must match. */
  testsPassed: string;
  /** Starts the service in the foreground; PORT is set in its environment. */
  start: string[];
};

const VERIFY_KEYS = [
  'interpreter',
  'install',
  'lint',
  'test',
  'testsPassed',
  'start',
];
const INTERPRETER_TOKEN = '$interpreter';

function isCommand(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(part => typeof part === 'string' && part.length > 0)
  );
}

/**
 * Parses and checks a verify.yaml. Throws one error that lists every
 * problem, naming the file and the key.
 */
function parseVerify(text: string, file: string): VerifySpec {
  const problems: string[] = [];
  const doc = yaml.parseDocument(text);
  if (doc.errors.length > 0) {
    throw new Error(
      `${file} is not valid YAML: ${doc.errors.map(e => e.message).join('; ')}`,
    );
  }
  const spec = doc.toJS();
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new Error(
      `${file} must be a mapping with the keys ${VERIFY_KEYS.join(
        ', ',
      )} (see templates/README.md)`,
    );
  }
  for (const key of Object.keys(spec)) {
    if (!VERIFY_KEYS.includes(key))
      problems.push(
        `unknown key "${key}" (allowed: ${VERIFY_KEYS.join(', ')})`,
      );
  }
  const command = (key: string, required: boolean) => {
    if (spec[key] === undefined) {
      if (required) problems.push(`${key}: missing (a command as a list)`);
    } else if (!isCommand(spec[key])) {
      problems.push(
        `${key}: must be a command as a non-empty list of strings, e.g. [npm, run, ${key}]`,
      );
    }
  };
  command('install', false);
  command('lint', true);
  command('test', true);
  command('start', true);

  if (typeof spec.testsPassed !== 'string' || spec.testsPassed === '') {
    problems.push(
      'testsPassed: missing (a regular expression that the output of a passing test run matches)',
    );
  } else {
    try {
      new RegExp(spec.testsPassed); // eslint-disable-line no-new
    } catch (e) {
      problems.push(
        `testsPassed: not a regular expression: ${(e as Error).message}`,
      );
    }
  }

  const interpreter = spec.interpreter;
  if (interpreter !== undefined) {
    if (
      !interpreter ||
      typeof interpreter !== 'object' ||
      Array.isArray(interpreter)
    ) {
      problems.push('interpreter: must be a mapping (env, candidates, check)');
    } else {
      for (const key of Object.keys(interpreter)) {
        if (!['env', 'candidates', 'check'].includes(key))
          problems.push(
            `interpreter: unknown key "${key}" (allowed: env, candidates, check)`,
          );
      }
      if (
        interpreter.env !== undefined &&
        !/^[A-Z_][A-Z0-9_]*$/.test(String(interpreter.env))
      )
        problems.push(
          'interpreter.env: must be an environment variable name, e.g. GOLDEN_PATH_PYTHON',
        );
      if (!isCommand(interpreter.candidates))
        problems.push(
          'interpreter.candidates: must be a non-empty list of programs, e.g. [python3, /usr/bin/python3]',
        );
      if (!isCommand(interpreter.check))
        problems.push(
          "interpreter.check: must be a non-empty list of arguments, e.g. [-c, 'import fastapi']",
        );
    }
  }
  const usesInterpreter = ['install', 'lint', 'test', 'start'].some(
    key => isCommand(spec[key]) && spec[key].includes(INTERPRETER_TOKEN),
  );
  if (usesInterpreter && interpreter === undefined)
    problems.push(
      `a command uses ${INTERPRETER_TOKEN}, but there is no interpreter section`,
    );

  if (problems.length > 0) {
    throw new Error(
      `${file} is malformed (see templates/README.md):\n${problems
        .map(p => `  - ${p}`)
        .join('\n')}`,
    );
  }
  return spec as VerifySpec;
}

type TemplateUnderTest = {
  id: string;
  templateFile: string;
  verifyFile: string;
};

/**
 * Every golden path: `templates/<id>/` with a template.yaml and a skeleton
 * (templates that act on existing services, such as decommission, generate
 * no app).
 */
function discoverTemplates(): TemplateUnderTest[] {
  const root = path.join(repoRoot, 'templates');
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter(
      entry =>
        entry.isDirectory() &&
        fs.existsSync(path.join(root, entry.name, 'template.yaml')) &&
        fs.existsSync(path.join(root, entry.name, 'skeleton')),
    )
    .map(entry => ({
      id: entry.name,
      templateFile: path.join(root, entry.name, 'template.yaml'),
      verifyFile: path.join(root, entry.name, 'verify.yaml'),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

// ---------------------------------------------------------------------------
// Rendering

type Parameters = {
  name: string;
  owner: string;
  description: string;
  port: number;
};

/**
 * The `values` input of a template's fetch:template step, resolved the way
 * the scaffolder would: every entry must be `${{ parameters.X }}` or
 * `${{ steps['<id>'].output.X }}`, and must resolve to a value.
 */
function fetchValues(
  template: any,
  parameters: Parameters,
  steps: StepOutputs,
): Record<string, string | number> {
  const step = template.spec.steps.find(
    (s: any) => s.action === 'fetch:template',
  );
  const values: Record<string, string | number> = {};
  for (const [key, expression] of Object.entries<string>(step.input.values)) {
    const param = /^\$\{\{ parameters\.(\w+) \}\}$/.exec(expression);
    const output = /^\$\{\{ steps\['([\w-]+)'\]\.output\.(\w+) \}\}$/.exec(
      expression,
    );
    let value: string | number | undefined;
    if (param)
      value = (parameters as Record<string, string | number>)[param[1]];
    else if (output) value = steps[output[1]]?.[output[2]];
    else
      throw new Error(
        `fetch:template value ${key} has an unexpected expression: ${expression}`,
      );
    if (value === undefined)
      throw new Error(
        `fetch:template value ${key} (${expression}) resolves to nothing`,
      );
    values[key] = value;
  }
  return values;
}

/** The default of the form's `port` field. */
function defaultPort(template: any): number {
  for (const page of template.spec.parameters) {
    const port = page.properties?.port?.default;
    if (typeof port === 'number') return port;
  }
  throw new Error('template.yaml has no default for the port parameter');
}

// ---------------------------------------------------------------------------
// Processes

/**
 * The environment for the generated app's own tools: this process's, minus
 * what Jest and yarn add (a nested Jest must not think it is a worker, and
 * NODE_ENV must not change what npm installs), and minus DATABASE_URL, which
 * each case sets itself.
 */
function appEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dropped =
    /^(JEST_WORKER_ID|NODE_OPTIONS|NODE_ENV|INIT_CWD|PROJECT_CWD|BERRY_BIN_FOLDER|DATABASE_URL|npm_lifecycle_\w+|npm_package_\w+|npm_execpath|npm_node_execpath|npm_config_user_agent)$/;
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !dropped.test(key)),
  );
  return { ...env, ...extra };
}

const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

type RunResult = {
  command: string;
  code: number | null;
  output: string;
  seconds: number;
};

/** Runs a command to completion, capturing its output; kills it after `timeoutMs`. */
function run(
  [command, ...args]: string[],
  cwd: string,
  timeoutMs: number,
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: appEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', chunk => (output += chunk));
    child.stderr.on('data', chunk => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', err =>
      reject(new Error(`cannot run ${command}: ${err.message}`)),
    );
    child.on('close', code => {
      clearTimeout(timer);
      resolve({
        command: [command, ...args].join(' '),
        code,
        // Without colour codes (FORCE_COLOR makes some tools colour pipes).
        output: output.replace(ANSI_COLOUR, ''),
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}

/** One line for the test log, plus the output's last lines when it failed. */
function summary(result: RunResult, pattern?: RegExp): string {
  const lines = result.output.split('\n').map(line => line.trimEnd());
  const shown =
    result.code === 0
      ? lines.filter(line => pattern?.test(line))
      : lines.filter(Boolean).slice(-40);
  return [
    `${result.command}: exit ${result.code} in ${result.seconds.toFixed(1)} s`,
    ...shown.map(line => `    ${line}`),
  ].join('\n');
}

/**
 * The program `$interpreter` stands for: the first of the env variable and
 * the candidates that passes the check.
 */
function resolveInterpreter(spec: NonNullable<VerifySpec['interpreter']>) {
  const fromEnv = spec.env ? process.env[spec.env] : undefined;
  const candidates = [...(fromEnv ? [fromEnv] : []), ...spec.candidates];
  const tried: string[] = [];
  for (const candidate of candidates) {
    const res = spawnSync(candidate, spec.check, {
      env: appEnv(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (res.status === 0) return { program: candidate, tried };
    const why =
      res.error?.message ??
      `exit ${res.status}: ${(res.stderr || res.stdout)
        .trim()
        .split('\n')
        .pop()}`;
    tried.push(`${candidate} (${why})`);
  }
  const orEnv = spec.env ? ` or set ${spec.env} to a program that has it` : '';
  throw new Error(
    `No interpreter passes "${spec.check.join(' ')}". Tried: ${tried.join(
      '; ',
    )}. ` +
      `Install what the app needs (scripts/test installs the Debian packages)${orEnv}.`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number) {
  return new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    ms: number;
  }>((resolve, reject) => {
    const started = Date.now();
    const timer = setTimeout(
      () => reject(new Error(`process did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started });
    });
  });
}

/** A started service: its process and everything it printed so far. */
type Service = {
  child: ChildProcess;
  base: string;
  port: number;
  stdout: () => string;
  stderr: () => string;
};

/** Starts the service and resolves once it has logged "listening". */
async function startService(
  command: string[],
  cwd: string,
  env: Record<string, string>,
  track: (child: ChildProcess) => void,
): Promise<Service> {
  const port = await freePort();
  let stdout = '';
  let stderr = '';
  const [program, ...args] = command;
  const child = spawn(program, args, {
    cwd,
    env: appEnv({ ...env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  child.stderr!.on('data', chunk => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `${command.join(
              ' ',
            )} did not log "listening" within 20 s; stdout: ${stdout}; stderr: ${stderr}`,
          ),
        ),
      20_000,
    );
    child.once('error', err => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${command.join(' ')}: ${err.message}`));
    });
    child.stdout!.on('data', chunk => {
      stdout += chunk;
      const listening = stdout.split('\n').some(line => {
        try {
          return JSON.parse(line).msg === 'listening';
        } catch {
          return false;
        }
      });
      if (listening) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', code => {
      clearTimeout(timer);
      reject(
        new Error(
          `${command.join(
            ' ',
          )} exited with ${code}; stdout: ${stdout}; stderr: ${stderr}`,
        ),
      );
    });
  });
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** Sends SIGTERM and expects a clean exit with status 0. */
async function stopService(service: Service) {
  service.child.kill('SIGTERM');
  const exit = await waitForExit(service.child, 5_000);
  expect({ ...exit, stderr: service.stderr() }).toMatchObject({
    code: 0,
    signal: null,
  });
  return exit;
}

/** Every line the service printed on stdout, each parsed as JSON. */
function logLines(service: Service): any[] {
  return service
    .stdout()
    .trim()
    .split('\n')
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch {
        throw new Error(`stdout line ${i + 1} is not JSON: ${line}`);
      }
    });
}

/** The local PostgreSQL, as the repository's other database tests find it. */
function postgresUrl(): URL {
  const url = new URL(
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING ||
      'postgresql://postgres@127.0.0.1:5432',
  );
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/postgres';
  // The server may offer TLS with a test CA that the apps do not have.
  url.searchParams.set('sslmode', 'disable');
  return url;
}

// ---------------------------------------------------------------------------
// The tests

const templates = discoverTemplates();
const slow = { install: 5 * 60_000, lint: 2 * 60_000, test: 3 * 60_000 };

describe('verify.yaml', () => {
  it('exists for every template', () => {
    expect(templates.map(t => t.id)).toEqual(
      expect.arrayContaining(['nodejs-service', 'python-service']),
    );
    expect(
      templates
        .filter(t => !fs.existsSync(t.verifyFile))
        .map(t => `templates/${t.id}/verify.yaml is missing`),
    ).toEqual([]);
  });

  it('is checked, with a message that names the file and every problem', () => {
    const bad = [
      ['lint: npm run lint', /lint: must be a command as a non-empty list/],
      ['- npm', /must be a mapping/],
      ['lint: [a', /is not valid YAML/],
      [
        'lint: [a]\ntest: [b]\nstart: [c]\ntestsPassed: x\nbuild: [d]',
        /unknown key "build"/,
      ],
      [
        'lint: [a]\ntest: [b]\nstart: [$interpreter, x]\ntestsPassed: x',
        /uses \$interpreter, but there is no interpreter section/,
      ],
      [
        'lint: [a]\ntest: [b]\nstart: [c]\ntestsPassed: "("',
        /testsPassed: not a regular expression/,
      ],
      [
        'lint: [a]\ntest: [b]\nstart: [c]\ntestsPassed: x\ninterpreter: { candidates: [], check: [-c] }',
        /interpreter.candidates: must be a non-empty list/,
      ],
    ] as const;
    for (const [text, message] of bad) {
      expect(() => parseVerify(text, 'templates/x/verify.yaml')).toThrow(
        message,
      );
    }
    expect(() => parseVerify('start: [c]', 'templates/x/verify.yaml')).toThrow(
      /templates\/x\/verify.yaml is malformed[^]*lint: missing[^]*test: missing[^]*testsPassed: missing/,
    );
  });
});

describe.each(templates.filter(t => fs.existsSync(t.verifyFile)))(
  'the app generated from templates/$id',
  ({ id, templateFile, verifyFile }) => {
    const log: string[] = [];
    const running = new Set<ChildProcess>();
    const track = (child: ChildProcess) => {
      running.add(child);
      child.once('exit', () => running.delete(child));
    };
    const state: {
      spec?: VerifySpec;
      dir?: string;
      commands?: Pick<VerifySpec, 'install' | 'lint' | 'test' | 'start'>;
      installed?: boolean;
    } = {};

    /** The state an earlier step left, or an error saying which step failed. */
    function need<K extends keyof typeof state>(
      key: K,
      step: string,
    ): NonNullable<(typeof state)[K]> {
      const value = state[key];
      if (value === undefined || value === false)
        throw new Error(`not run: ${step} did not succeed`);
      return value as NonNullable<(typeof state)[K]>;
    }

    afterAll(() => {
      for (const child of running) child.kill('SIGKILL');
      if (state.dir && process.env.GOLDEN_PATH_KEEP_APP)
        log.push(`kept ${state.dir} (GOLDEN_PATH_KEEP_APP is set)`);
      else if (state.dir)
        fs.rmSync(state.dir, { recursive: true, force: true });
      // eslint-disable-next-line no-console
      console.log([`templates/${id}:`, ...log].join('\n'));
    });

    it('has a valid verify.yaml', () => {
      state.spec = parseVerify(
        fs.readFileSync(verifyFile, 'utf8'),
        path.relative(repoRoot, verifyFile),
      );
      expect(state.spec.start.length).toBeGreaterThan(0);
    });

    it("renders the skeleton with the template's own fetch:template values", async () => {
      need('spec', 'reading verify.yaml');
      const template = yaml.parse(fs.readFileSync(templateFile, 'utf8'));
      const seed = Date.now();
      // Names of the rule's shape, kept only if the rule itself accepts
      // them (fast-check cannot generate from its lookaheads).
      const rule = new RegExp(SERVICE_NAME_PATTERN);
      let [name] = fc.sample(
        fc
          .stringMatching(/^[a-z][a-z0-9]{0,11}(?:-[a-z0-9]{1,8}){0,2}$/)
          .filter(n => rule.test(n) && !n.startsWith('kube-')),
        { numRuns: 1, seed },
      );
      // As long as the rule allows, so that line-length limits in the
      // generated code are tested at their worst.
      while (name.length < 100 && rule.test(`${name}x`)) name += 'x';
      const parameters = {
        name,
        owner: 'group:default/team-a',
        description: 'Generated by the golden-path test: "real" app # check',
        port: defaultPort(template),
      };
      const dir = makeTempDir('gp-app-');
      state.dir = dir;
      await renderSkeleton({
        values: fetchValues(template, parameters, await stepOutputs(name)),
        workspacePath: dir,
        templateYamlPath: templateFile,
      });
      log.push(
        `service name "${name}" (fast-check seed ${seed}), port ${parameters.port}, rendered into ${dir}`,
      );
      expect(fs.readdirSync(dir).length).toBeGreaterThan(0);
    }, 60_000);

    it(
      'installs its dependencies',
      async () => {
        const spec = need('spec', 'reading verify.yaml');
        const dir = need('dir', 'rendering');
        let program: string | undefined;
        if (spec.interpreter) {
          const resolved = resolveInterpreter(spec.interpreter);
          program = resolved.program;
          log.push(
            `$interpreter = ${program}${
              resolved.tried.length
                ? ` (not usable: ${resolved.tried.join('; ')})`
                : ''
            }`,
          );
        }
        const resolve = (command: string[]) =>
          command.map(part =>
            part === INTERPRETER_TOKEN ? program ?? part : part,
          );
        state.commands = {
          install: spec.install && resolve(spec.install),
          lint: resolve(spec.lint),
          test: resolve(spec.test),
          start: resolve(spec.start),
        };
        const install = state.commands.install
          ? await run(state.commands.install, dir, slow.install)
          : undefined;
        log.push(
          install
            ? summary(install, /added \d+ packages|Successfully installed/)
            : 'no install step: the interpreter brings the dependencies',
        );
        expect(install ?? { code: 0 }).toMatchObject({ code: 0 });
        state.installed = true;
      },
      slow.install + 60_000,
    );

    it(
      'lints with no problems',
      async () => {
        need('installed', 'installing');
        const lint = await run(
          state.commands!.lint,
          need('dir', 'rendering'),
          slow.lint,
        );
        log.push(summary(lint), lint.code === 0 ? '    no problems' : '');
        expect(lint).toMatchObject({ code: 0 });
      },
      slow.lint + 10_000,
    );

    it(
      'passes its own tests',
      async () => {
        need('installed', 'installing');
        const spec = need('spec', 'reading verify.yaml');
        const test = await run(
          state.commands!.test,
          need('dir', 'rendering'),
          slow.test,
        );
        log.push(
          summary(
            test,
            /^(PASS|FAIL|Tests:|Test Suites:|Time:)|\d+ passed|\d+ failed/,
          ),
        );
        expect(test).toMatchObject({
          code: 0,
          output: expect.stringMatching(new RegExp(spec.testsPassed, 'm')),
        });
      },
      slow.test + 10_000,
    );

    it('serves /health and /metrics, logs JSON lines and stops cleanly on SIGTERM', async () => {
      need('installed', 'installing');
      const dir = need('dir', 'rendering');
      const command = state.commands!.start;
      const service = await startService(command, dir, {}, track);

      const health = await fetch(`${service.base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      // Sample values are Prometheus floats: prom-client writes 1, the
      // Python client 1.0.
      const one = '1(?:\\.0)?';
      const metrics = await (await fetch(`${service.base}/metrics`)).text();
      expect(metrics).toMatch(
        new RegExp(
          `^http_requests_total\\{method="GET",route="\\/health",status="200"\\} ${one}$`,
          'm',
        ),
      );
      expect(metrics).toMatch(
        new RegExp(
          `^http_request_duration_seconds_count\\{method="GET",route="\\/health",status="200"\\} ${one}$`,
          'm',
        ),
      );
      expect(metrics).toMatch(/^# TYPE http_request_errors_total counter$/m);

      const exit = await stopService(service);
      log.push(
        `${command.join(' ')} on port ${
          service.port
        }: /health ok, /metrics counted it; SIGTERM -> exit ${exit.code} in ${
          exit.ms
        } ms`,
      );

      const lines = logLines(service);
      expect(lines.map(l => l.msg)).toEqual([
        'listening',
        'request',
        'request',
        'shutting down',
        'stopped',
      ]);
      expect(lines[0]).toMatchObject({ level: 'info', port: service.port });
      expect(lines[1]).toMatchObject({
        level: 'info',
        method: 'GET',
        url: '/health',
        route: '/health',
        status: 200,
        durationMs: expect.any(Number),
      });
      expect(lines[2]).toMatchObject({ route: '/metrics', status: 200 });
    }, 60_000);

    it('reports the database in /health when DATABASE_URL points at PostgreSQL', async () => {
      need('installed', 'installing');
      const url = postgresUrl();
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const port = Number(url.port || 5432);
      if (!(await canConnect(host, port)))
        throw new Error(
          `This case needs PostgreSQL at ${host}:${port} (set BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING to another one)`,
        );
      const service = await startService(
        state.commands!.start,
        need('dir', 'rendering'),
        { DATABASE_URL: url.toString() },
        track,
      );
      const health = await fetch(`${service.base}/health`);
      expect({ status: health.status, body: await health.json() }).toEqual({
        status: 200,
        body: { status: 'ok', database: 'ok' },
      });
      const exit = await stopService(service);
      log.push(
        `DATABASE_URL=<local PostgreSQL ${host}:${port}>: /health says database ok; SIGTERM -> exit ${exit.code} in ${exit.ms} ms`,
      );
      expect(logLines(service).map(l => l.msg)).toEqual([
        'listening',
        'request',
        'shutting down',
        'stopped',
      ]);
    }, 60_000);

    it('answers 503 "degraded" when the database is unreachable, naming no host or secret', async () => {
      need('installed', 'installing');
      const secret = 'Sup3r-s3cret-pw';
      const closed = await freePort();
      const url = `postgresql://golden:${secret}@127.0.0.1:${closed}/app?sslmode=disable`;
      const service = await startService(
        state.commands!.start,
        need('dir', 'rendering'),
        { DATABASE_URL: url },
        track,
      );
      const health = await fetch(`${service.base}/health`);
      const body = await health.text();
      expect({ status: health.status, body: JSON.parse(body) }).toEqual({
        status: 503,
        body: { status: 'degraded', database: 'unreachable' },
      });
      expect(body).not.toContain(secret);
      expect(body).not.toContain(String(closed));
      const exit = await stopService(service);
      log.push(
        `DATABASE_URL=<nothing listening on port ${closed}>: /health 503 degraded; SIGTERM -> exit ${exit.code} in ${exit.ms} ms`,
      );
      expect(service.stdout()).not.toContain(secret);
      const lines = logLines(service);
      expect(lines.map(l => l.msg)).toEqual([
        'listening',
        'database check failed',
        'request',
        'shutting down',
        'stopped',
      ]);
      expect(lines[1]).toMatchObject({
        level: 'warn',
        error: expect.any(String),
      });
      expect(lines[2]).toMatchObject({ route: '/health', status: 503 });
    }, 60_000);
  },
);
