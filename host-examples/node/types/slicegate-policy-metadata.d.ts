/** @module Interface slicegate:policy/metadata@0.1.0 **/
export function info(): PolicySetInfo;
export type Error = import('./slicegate-policy-types.js').Error;
export interface PolicySetInfo {
  bundleName: string,
  bundleRevision: bigint,
  policyCount: number,
  entityCount: number,
  policyIds: Array<string>,
  policiesSha256: string,
  schemaSha256?: string,
  entitiesSha256: string,
  cedarVersion: string,
  engineVersion: string,
  compiledPolicies: number,
  compiledDecisions: bigint,
  interpretedDecisions: bigint,
}
