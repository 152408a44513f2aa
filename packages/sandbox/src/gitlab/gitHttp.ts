import { spawn } from 'node:child_process';
import { Request, Response } from 'express';
import { GitRepos } from '../git';
import { GitHttpRequest } from './operations';

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
 * Auth is GitLab-like but permissive: Basic auth with any user and password
 * (e.g. `gitlab-ci-token:<token>`) or a Bearer token is accepted; without
 * credentials, clones and fetches work and pushes are challenged with 401 +
 * `WWW-Authenticate: Basic`, so a git client retries with its credentials.
 */
export function serveGit(
  repos: GitRepos,
  git: GitHttpRequest,
  req: Request,
  res: Response,
): void {
  const user = authenticatedUser(req);
  const isPush =
    git.operation === 'git-receive-pack' ||
    git.operation === 'git-receive-pack:advertise';
  if (isPush && !user) {
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="GitLab"')
      .type('text/plain')
      .send('HTTP Basic: Access denied\n');
    return;
  }

  const queryIndex = req.originalUrl.indexOf('?');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_PROJECT_ROOT: repos.rootDir,
    GIT_HTTP_EXPORT_ALL: '1',
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
    if (!res.headersSent) {
      res.status(500).type('text/plain').send(`cannot run git http-backend: ${error.message}\n`);
    } else {
      res.destroy(error);
    }
  });
}

/** The user of Basic auth, `oauth2` for a Bearer token, or undefined. */
function authenticatedUser(req: Request): string | undefined {
  const header = req.headers.authorization ?? '';
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
    const password = colon >= 0 ? decoded.slice(colon + 1) : '';
    if (user || password) return user || 'oauth2';
    return undefined;
  }
  if (/^Bearer\s+\S+/i.test(header)) return 'oauth2';
  const privateToken = req.headers['private-token'];
  if (typeof privateToken === 'string' && privateToken) return 'oauth2';
  return undefined;
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
