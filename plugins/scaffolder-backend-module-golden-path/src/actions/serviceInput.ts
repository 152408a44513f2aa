// The scaffolder hands actions zod's v3 API.
import type { z as zod } from 'zod/v3';

/**
 * The service fields every provisioning action takes, described for the
 * portal's action list. The scaffolder hands handlers the raw input (no zod
 * defaults run), so defaults are applied by the render layer.
 */
export const serviceInputSchema = {
  name: (z: typeof zod) =>
    z.string().describe('Service name (the golden-path name rule applies)'),
  owner: (z: typeof zod) =>
    z.string().describe('Owner entity ref, e.g. group:default/team-a'),
  description: (z: typeof zod) =>
    z.string().optional().describe('What the service does; any text'),
  port: (z: typeof zod) =>
    z
      .number()
      .int()
      .optional()
      .describe('Container port the app listens on (default 3000)'),
  replicas: (z: typeof zod) =>
    z.number().int().optional().describe('Number of replicas (default 2)'),
};

export interface ServiceInput {
  name: string;
  owner: string;
  description?: string;
  port?: number;
  replicas?: number;
}

/** The request for the render layer, from raw action input. */
export function toServiceRequest(input: ServiceInput) {
  return {
    name: input.name,
    owner: input.owner,
    description: input.description ?? '',
    port: input.port,
    replicas: input.replicas,
  };
}
