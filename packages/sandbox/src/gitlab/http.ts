import { Request, Response } from 'express';

/** An answer with a GitLab-shaped error body (`{message}` or `{error}`). */
export class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

export const notFound = (what: string) => new HttpError(404, { message: `404 ${what} Not Found`.replace('404  Not', '404 Not') });
export const badRequest = (message: unknown) => new HttpError(400, { message });
/** Grape's parameter validation errors use `error`, not `message`. */
export const paramError = (error: string) => new HttpError(400, { error });
export const forbidden = () => new HttpError(403, { message: '403 Forbidden' });

export type Input = Record<string, unknown>;

export function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function bool(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  return ['true', '1', 'yes'].includes(String(value).toLowerCase());
}

export function int(value: unknown): number | undefined {
  const s = str(value);
  if (s === undefined || s === '' || !/^-?\d+$/.test(s)) return undefined;
  return Number(s);
}

export function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  if (typeof value === 'object') return Object.values(value).map(String).filter(Boolean);
  return String(value)
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** A `YYYY-MM-DD` date strictly before today (UTC): the token has expired. */
export function isPast(date: string | null | undefined): boolean {
  return Boolean(date) && date! < today();
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Ctx {
  req: Request;
  res: Response;
  params: Record<string, string>;
  /** Query and body parameters merged, as Grape does (body wins). */
  input: Input;
}

/** `undefined`: the handler answered itself (raw file, archive). */
export type Handler = (ctx: Ctx) => Promise<Reply | undefined> | Reply | undefined;

/** Page and page size of a list request (GitLab: 20 by default, at most 100). */
export function pageOf(ctx: Ctx) {
  return {
    perPage: Math.max(1, Math.min(int(ctx.input.per_page) ?? 20, 100)),
    page: Math.max(1, int(ctx.input.page) ?? 1),
  };
}

/**
 * GitLab's offset-pagination headers, with `Link` (which gitbeaker
 * follows). Without `total`, like GitLab for commits: no x-total and no
 * last page.
 */
export function pageHeaders(
  baseUrl: string,
  ctx: Ctx,
  page: number,
  perPage: number,
  hasNext: boolean,
  total?: number,
): Record<string, string> {
  const link = (p: number) => {
    const url = ctx.req.originalUrl;
    const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    query.set('page', String(p));
    query.set('per_page', String(perPage));
    return `${baseUrl}${ctx.req.path}?${query.toString()}`;
  };
  const totalPages = total === undefined ? undefined : Math.max(1, Math.ceil(total / perPage));
  const links: string[] = [];
  if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
  if (hasNext) links.push(`<${link(page + 1)}>; rel="next"`);
  links.push(`<${link(1)}>; rel="first"`);
  if (totalPages !== undefined) links.push(`<${link(totalPages)}>; rel="last"`);
  const headers: Record<string, string> = {
    'x-page': String(page),
    'x-per-page': String(perPage),
    'x-next-page': hasNext ? String(page + 1) : '',
    'x-prev-page': page > 1 ? String(page - 1) : '',
    link: links.join(', '),
  };
  if (total !== undefined) {
    headers['x-total'] = String(total);
    headers['x-total-pages'] = String(totalPages);
  }
  return headers;
}

/** One page of `items` (mapped by `shape`) with GitLab's pagination headers. */
export async function paginate<T, U = T>(
  baseUrl: string,
  ctx: Ctx,
  items: T[],
  shape?: (item: T) => U | Promise<U>,
): Promise<Reply> {
  const { page, perPage } = pageOf(ctx);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const body = shape ? await Promise.all(slice.map(shape)) : slice;
  return {
    body,
    headers: pageHeaders(baseUrl, ctx, page, perPage, page * perPage < items.length, items.length),
  };
}
