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
}
