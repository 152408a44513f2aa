/**
 * The render layer: pure functions from settings and form input to plain
 * data (manifests, policies, names). No I/O, no clock, no randomness;
 * YAML only at the edge ({@link toYaml}).
 */
export * from './types';
export * from './input';
export * from './derive';
export * from './labels';
export * from './context';
export * from './runtime';
export * from './kubernetes';
export * from './networkPolicies';
export * from './dashboard';
export * from './argocd';
export * from './iam';
export * from './gitops';
export * from './yaml';
