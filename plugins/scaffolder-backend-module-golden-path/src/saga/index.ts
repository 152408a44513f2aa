export { SagaJournal, SagaJournals, SagaRolledBackError, settleAll } from './Saga';
export type { SagaStep, RollbackSummary } from './Saga';
