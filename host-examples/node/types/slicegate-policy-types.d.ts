/** @module Interface slicegate:policy/types@0.1.0 **/
export type Error = ErrorInvalidRequest | ErrorUnknownEntity | ErrorSchemaViolation | ErrorPolicyLoad | ErrorNotLoaded | ErrorLimitExceeded | ErrorInternal;
export interface ErrorInvalidRequest {
  tag: 'invalid-request',
  val: string,
}
export interface ErrorUnknownEntity {
  tag: 'unknown-entity',
  val: string,
}
export interface ErrorSchemaViolation {
  tag: 'schema-violation',
  val: string,
}
export interface ErrorPolicyLoad {
  tag: 'policy-load',
  val: string,
}
export interface ErrorNotLoaded {
  tag: 'not-loaded',
}
export interface ErrorLimitExceeded {
  tag: 'limit-exceeded',
  val: string,
}
export interface ErrorInternal {
  tag: 'internal',
  val: string,
}
export interface EntityUid {
  typeName: string,
  id: string,
}
export interface DeterminingPolicy {
  policyId: string,
  permit: boolean,
  pack?: string,
  reason?: string,
  source?: string,
}
export interface PolicyError {
  policyId: string,
  permit: boolean,
  message: string,
}
export interface Decision {
  allowed: boolean,
  failClosed?: string,
  determining: Array<DeterminingPolicy>,
  errors: Array<PolicyError>,
  bundleRevision: bigint,
}
