import fs from 'node:fs';
import path from 'node:path';

/**
 * A JSON document on disk that the fakes keep their state in, so the
 * sandbox survives a restart. Writes are atomic (temporary file + rename).
 */
export class JsonStore<T extends object> {
  readonly data: T;

  constructor(private readonly file: string, initial: T) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.data = fs.existsSync(file)
      ? { ...initial, ...JSON.parse(fs.readFileSync(file, 'utf8')) }
      : initial;
  }

  /** Persists the current data. Call after every change. */
  save(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data, null, 2));
    fs.renameSync(tmp, this.file);
  }
}
