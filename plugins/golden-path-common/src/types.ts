/** What a developer asks for in the Create form, validated and with defaults applied. */
export interface ServiceRequest {
  /** Service name; satisfies the service-name rule. */
  name: string;
  /** Owner entity ref, e.g. `group:default/team-a`. */
  owner: string;
  /** Free-text description (may contain any characters). */
  description: string;
  /** Container port the app listens on. Default 3000. */
  port: number;
  /** Replica count. Default 2. */
  replicas: number;
  /**
   * True when the service gets its own PostgreSQL database and login role
   * on the platform's server (the form's "needs a PostgreSQL database").
   * Absent when it does not, so requests recorded before the option existed
   * read the same.
   */
  database?: boolean;
}
