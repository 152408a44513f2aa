/**
 * Test helpers shared by the golden-path packages: example settings and
 * requests, and the upstream schemas of the conformance kit. Test-only:
 * never import this entry point from production code.
 *
 * @packageDocumentation
 */
export * from './fixtures';
export * from './conformance';
export * from './argocdObjects';
