import { NextFunction, Request, Response } from 'express';
import { GitRepos } from '../git';
import { RepoGit } from './repo';
import { GitLabState } from './state';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Bare-bones pages behind the `web_url`s the API hands out, so links in the
 * portal lead somewhere: `/<project>` lists the files of the default
 * branch, `/<project>/-/blob/<ref>/<file>` and `/-/raw/<ref>/<file>` show a
 * file as text, `/<project>/-/pipelines` and `/-/pipelines/<id>` show
 * pipelines, `/groups/<group>` and `/<group>` list a group's projects.
 */
export function createWebHandler(opts: { state: GitLabState; repos: GitRepos }) {
  const { state, repos } = opts;
  const git = new RepoGit(repos);
  const page = (res: Response, title: string, body: string) =>
    res
      .type('html')
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
          `<body style="font-family:sans-serif"><p>Sandbox GitLab</p><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
      );

  return async (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path.startsWith('/api/')) {
      next();
      return;
    }
    const reqPath = decode(req.path).replace(/^\/+|\/+$/g, '');
    const [projectPart, rest] = reqPath.split(/\/-\/(.*)/s);
    const project = /^\d+$/.test(projectPart) ? undefined : state.project(projectPart);
    if (project) {
      const full = project.path_with_namespace;
      const file = rest ? /^(blob|raw)\/([^/]+)\/(.+)$/.exec(rest) : undefined;
      if (file) {
        const content = await git.readFile(full, file[2], file[3]);
        if (!content) {
          next();
          return;
        }
        res.type('text/plain; charset=utf-8').send(content);
        return;
      }
      if (rest && /^pipelines(\/\d+)?$/.test(rest)) {
        const id = /^pipelines\/(\d+)$/.exec(rest)?.[1];
        const pipelines = state.pipelines.list({ parent: project.id }).reverse();
        if (!id) {
          const rows = pipelines
            .map(
              pl =>
                `<li><a href="/${escapeHtml(full)}/-/pipelines/${pl.id}">#${pl.id}</a> ${escapeHtml(pl.status)} ` +
                `on <code>${escapeHtml(pl.ref)}</code> at ${escapeHtml(pl.created_at)}</li>`,
            )
            .join('');
          page(res, `${full} pipelines`, pipelines.length ? `<ul>${rows}</ul>` : '<p>No pipelines yet.</p>');
          return;
        }
        const pipeline = pipelines.find(pl => pl.id === Number(id));
        if (!pipeline) {
          next();
          return;
        }
        const jobs = pipeline.jobs
          .map(j => `<li>${escapeHtml(j.stage)}: ${escapeHtml(j.name)} ${escapeHtml(j.status)}</li>`)
          .join('');
        page(
          res,
          `${full} pipeline #${pipeline.id}`,
          [
            `<p>Status: <strong>${escapeHtml(pipeline.status)}</strong></p>`,
            `<p>Commit <code>${escapeHtml(pipeline.sha)}</code> on <code>${escapeHtml(pipeline.ref)}</code>, ${escapeHtml(pipeline.created_at)}</p>`,
            pipeline.yaml_errors ? `<p>${escapeHtml(pipeline.yaml_errors)}</p>` : '',
            `<ol>${jobs}</ol>`,
          ].join(''),
        );
        return;
      }
      const ref = (rest && /^tree\/([^/]+)$/.exec(rest)?.[1]) || project.default_branch;
      const files = await repos.listTree(full, ref);
      const links = files
        .map(f => `<li><a href="/${escapeHtml(full)}/-/blob/${escapeHtml(ref)}/${escapeHtml(f)}">${escapeHtml(f)}</a></li>`)
        .join('');
      const marked = project.marked_for_deletion_on
        ? `<p><strong>Marked for deletion on ${escapeHtml(project.marked_for_deletion_on)}</strong></p>`
        : '';
      const cloneUrl = `${req.protocol}://${req.get('host')}/${full}.git`;
      page(
        res,
        full,
        `<p>${escapeHtml(project.description)}</p>${marked}` +
          `<p>Branch <code>${escapeHtml(ref)}</code>: ${files.length} files</p><ul>${links}</ul>` +
          `<p>Clone: <code>git clone ${escapeHtml(cloneUrl)}</code></p>`,
      );
      return;
    }
    const group = state.group(reqPath.replace(/^groups\//, ''));
    if (group && !/^\d+$/.test(reqPath)) {
      const projects = state.projects
        .list({ parent: group.id })
        .map(p => `<li><a href="/${escapeHtml(p.path_with_namespace)}">${escapeHtml(p.path_with_namespace)}</a></li>`)
        .join('');
      page(res, group.full_path, `<ul>${projects}</ul>`);
      return;
    }
    next();
  };
}
