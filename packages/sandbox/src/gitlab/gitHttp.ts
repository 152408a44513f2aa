import { spawn } from 'node:child_process';
import { Request, Response } from 'express';
import { GitRepos, ZERO_SHA } from '../git';
import type { ApiKit } from './api';
import { RefUpdate } from './hooks';
import { GitHttpRequest } from './operations';
import { StoredProject } from './state';
import { credentialsOf, gitAccess } from './tokens';

/** What serving git needs from the fake. */
export interface GitHttpContext {
  repos: GitRepos;
  kit: ApiKit;
  /** Token that may read and write every repository. */
  adminToken: string;
}

function refuse(res: Response, status: number, message: string) {
  if (status === 401) res.set('WWW-Authenticate', 'Basic realm="GitLab"');
  res.status(status).type('text/plain').send(`${message}\n`);
}

/**
 * Serves git's smart HTTP protocol (clone, fetch, push) for the bare
 * repositories of `repos` by running `git http-backend` as a CGI script.
 *
 * The request body is streamed to the CGI untouched: a gzip-compressed
 * body (`Content-Encoding: gzip`, which git clients send for larger fetch
 * negotiations) is passed through with HTTP_CONTENT_ENCODING so that
 * http-backend inflates it itself. The CGI's headers (`Status:`,
 * `Content-Type:`, cache headers) are parsed and the rest of its output is
 * streamed back.
 *
 * Auth is GitLab's: Basic auth with any user name (e.g. `gitlab-ci-token`)
 * and, as password, the admin token or an active access token or deploy
 * token of this project whose scopes allow the operation (Bearer and
 * PRIVATE-TOKEN work too). Wrong credentials get 401, too weak ones 403.
 * Without credentials, clones and fetches still work (the sandbox's
 * repositories are readable by anyone on the machine, which the e2e tests
 * and `git clone` on a laptop rely on) and pushes are challenged with 401 +
 * `WWW-Authenticate: Basic`, so a git client retries with its credentials.
 * Pushes to an archived project are refused (403). A push holds the
 * repository's lock (API commits wait), and the refs it moved are reported
 * to {@link ApiKit.pushed} (pipelines, push hooks).
 */
export async function serveGit(
  ctx: GitHttpContext,
  project: StoredProject,
  git: GitHttpRequest,
  req: Request,
  res: Response,
): Promise<void> {
  const { repos, kit } = ctx;
  const isPush = git.operation === 'git-receive-pack' || git.operation === 'git-receive-pack:advertise';
  const credentials = credentialsOf(req);
  const access = credentials ? gitAccess(kit.state, ctx.adminToken, project, credentials.token) : undefined;
  if (!credentials && isPush) {
    refuse(res, 401, 'HTTP Basic: Access denied');
    return;
  }
  if (access && !access.known) {
    refuse(res, 401, 'HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you\'re required to use a token instead of a password.');
    return;
  }
  if (access && !(isPush ? access.write : access.read)) {
    refuse(res, 403, isPush ? 'You are not allowed to push code to this project.' : 'You are not allowed to download code from this project.');
    return;
  }
  if (isPush && project.archived) {
    refuse(res, 403, 'You are not allowed to push code to an archived project.');
    return;
  }
  const user = credentials ? credentials.user || 'oauth2' : undefined;
  if (git.operation !== 'git-receive-pack') {
    runBackend(repos, git, req, res, user);
    return;
  }
  const full = project.path_with_namespace;
  const updates = await repos.exclusive(full, async () => {
    const before = await kit.git.refs(full);
    await new Promise<void>(resolve => {
      runBackend(repos, git, req, res, user, resolve);
    });
    const after = await kit.git.refs(full);
    const moved: RefUpdate[] = [];
    for (const ref of new Set([...before.keys(), ...after.keys()])) {
      const [b, a] = [before.get(ref) ?? ZERO_SHA, after.get(ref) ?? ZERO_SHA];
      if (a !== b) moved.push({ ref, before: b, after: a });
    }
    return moved;
  });
  await kit.pushed(project, updates);
}

/** Runs `git http-backend` for one request; `done` when it has exited. */
function runBackend(
  repos: GitRepos,
  git: GitHttpRequest,
  req: Request,
  res: Response,
  user: string | undefined,
  done: () => void = () => undefined,
): void {
  const queryIndex = req.originalUrl.indexOf('?');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_PROJECT_ROOT: repos.rootDir,
    GIT_HTTP_EXPORT_ALL: '1',
    // Pushes are allowed (the fake has authenticated them already).
    GIT_CONFIG_PARAMETERS: "'http.receivepack'='true'",
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method,
    PATH_INFO: `/${git.projectPath}.git${git.subPath}`,
    QUERY_STRING: queryIndex >= 0 ? req.originalUrl.slice(queryIndex + 1) : '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  if (user) env.REMOTE_USER = user;
  const contentType = req.headers['content-type'];
  if (contentType) env.CONTENT_TYPE = contentType;
  const contentLength = req.headers['content-length'];
  if (contentLength) env.CONTENT_LENGTH = contentLength;
  const contentEncoding = req.headers['content-encoding'];
  if (contentEncoding) env.HTTP_CONTENT_ENCODING = contentEncoding;
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  const child = spawn('git', ['http-backend'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let finished = false;
  const finish = () => {
    if (!finished) {
      finished = true;
      done();
    }
  };
  child.on('close', finish);

  let stderr = '';
  child.stderr.on('data', chunk => {
    if (stderr.length < 4096) stderr += String(chunk);
  });
  // The CGI may exit before reading the whole body (e.g. on an error).
  child.stdin.on('error', () => undefined);
  req.pipe(child.stdin);
  // The client went away mid-response: stop the CGI.
  res.on('close', () => {
    if (!res.writableFinished && child.exitCode === null) child.kill();
  });

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (!end) return;
    headersDone = true;
    const { status, headers } = parseCgiHeaders(head.subarray(0, end.index).toString('latin1'));
    res.status(status);
    for (const [name, value] of headers) res.setHeader(name, value);
    const rest = head.subarray(end.index + end.length);
    if (rest.length) res.write(rest);
  });
  child.stdout.on('end', () => {
    if (!headersDone) {
      if (!res.headersSent) {
        res.status(500).type('text/plain').send(`git http-backend failed\n${stderr}`);
      }
      return;
    }
    res.end();
  });
  child.on('error', error => {
    finish();
    if (!res.headersSent) {
      res.status(500).type('text/plain').send(`cannot run git http-backend: ${error.message}\n`);
    } else {
      res.destroy(error);
    }
  });
}

/** Where the CGI header block ends (`\r\n\r\n` or `\n\n`). */
function headerEnd(buf: Buffer): { index: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return undefined;
  if (lf < 0 || (crlf >= 0 && crlf < lf)) return { index: crlf, length: 4 };
  return { index: lf, length: 2 };
}

/** Parses a CGI header block: `Status: 404 Not Found` plus response headers. */
export function parseCgiHeaders(block: string): {
  status: number;
  headers: [string, string][];
} {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const code = parseInt(value, 10);
      if (code >= 100 && code < 600) status = code;
    } else {
      headers.push([name, value]);
    }
  }
  return { status, headers };
}
