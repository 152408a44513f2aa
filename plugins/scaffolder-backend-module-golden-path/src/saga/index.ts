export * from './engine';
export * from './RunStore';
