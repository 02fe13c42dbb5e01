/** @module Interface slicegate:policy/loader@0.1.0 **/
export function load(sources: PolicySources): LoadReport;
export type Error = import('./slicegate-policy-types.js').Error;
export interface SourceFile {
  name: string,
  text: string,
}
/**
 * # Variants
 * 
 * ## `"positional"`
 * 
 * ## `"annotation"`
 */
export type PolicyIds = 'positional' | 'annotation';
export interface PolicySources {
  policies: Array<SourceFile>,
  schema?: SourceFile,
  entities: Array<SourceFile>,
  policyIds: PolicyIds,
  strict: boolean,
  bundleName: string,
  bundleRevision: bigint,
  compile: boolean,
}
export interface LoadReport {
  policyCount: number,
  entityCount: number,
  validates: boolean,
  validationErrors: Array<string>,
  compiledPolicies: number,
}
