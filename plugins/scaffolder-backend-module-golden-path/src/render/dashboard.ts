import { assertServiceName } from './input';

/**
 * Metric and label names the generated Express app exports. The dashboard
 * queries depend on them; change both together.
 */
export const APP_METRICS = {
  /** Counter of handled requests. */
  requestsTotal: 'http_requests_total',
  /** Histogram buckets of request durations in seconds. */
  durationBucket: 'http_request_duration_seconds_bucket',
  /** Label with the HTTP status code on both metrics. */
  statusLabel: 'status',
} as const;

/** Quantiles shown in the duration panel. */
export const DURATION_QUANTILES: readonly number[] = [0.5, 0.95, 0.99];

interface PanelTarget {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: { type: 'prometheus'; uid: string };
}

/** A Grafana time-series panel (the subset of the panel model we use). */
export interface DashboardPanel {
  id: number;
  type: 'timeseries';
  title: string;
  description: string;
  datasource: { type: 'prometheus'; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig: { defaults: { unit: string }; overrides: never[] };
  targets: PanelTarget[];
}

/** A Grafana dashboard (the subset of the dashboard model we use). */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: string;
  schemaVersion: number;
  version: number;
  editable: boolean;
  refresh: string;
  time: { from: string; to: string };
  templating: {
    list: Array<{
      name: string;
      label: string;
      type: 'datasource';
      query: 'prometheus';
    }>;
  };
  panels: DashboardPanel[];
}

// Refers to the dashboard's data source variable, so one dashboard works in every Grafana.
const DATASOURCE = { type: 'prometheus' as const, uid: `\${datasource}` };

/**
 * The RED dashboard of a service: request rate, error ratio (5xx) and
 * p50/p95/p99 latency. Queries are scoped by the `namespace` and `service`
 * labels the Prometheus Operator attaches to every scraped series, so they
 * only ever show this service. The dashboard uid is the service name, which
 * is unique and within Grafana's 40-character uid limit.
 */
export function renderGrafanaDashboard(name: string): GrafanaDashboard {
  assertServiceName(name);
  const selector = `namespace="${name}", service="${name}"`;
  const rate = (extra = '') =>
    `sum(rate(${APP_METRICS.requestsTotal}{${selector}${extra}}[$__rate_interval]))`;
  const target = (
    refId: string,
    expr: string,
    legendFormat: string,
  ): PanelTarget => ({
    refId,
    expr,
    legendFormat,
    datasource: DATASOURCE,
  });
  const panel = (
    id: number,
    x: number,
    title: string,
    description: string,
    unit: string,
    targets: PanelTarget[],
  ): DashboardPanel => ({
    id,
    type: 'timeseries',
    title,
    description,
    datasource: DATASOURCE,
    gridPos: { h: 8, w: 8, x, y: 0 },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets,
  });
  return {
    uid: name,
    title: `${name} (golden path)`,
    tags: ['golden-path', name],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
        },
      ],
    },
    panels: [
      panel(1, 0, 'Request rate', 'Requests per second', 'reqps', [
        target('A', rate(), 'requests/s'),
      ]),
      panel(
        2,
        8,
        'Error rate',
        'Share of responses with a 5xx status',
        'percentunit',
        [
          target(
            'A',
            `${rate(`, ${APP_METRICS.statusLabel}=~"5.."`)} / ${rate()}`,
            '5xx ratio',
          ),
        ],
      ),
      panel(
        3,
        16,
        'Request duration',
        'Latency percentiles',
        's',
        DURATION_QUANTILES.map((q, i) =>
          target(
            String.fromCharCode(65 + i),
            `histogram_quantile(${q}, sum by (le) (rate(${APP_METRICS.durationBucket}{${selector}}[$__rate_interval])))`,
            `p${Math.round(q * 100)}`,
          ),
        ),
      ),
    ],
  };
}
