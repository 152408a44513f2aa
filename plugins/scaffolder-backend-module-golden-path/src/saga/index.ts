export { SagaJournal, SagaJournals, SagaRolledBackError } from './Saga';
export type { SagaStep, RollbackSummary } from './Saga';
