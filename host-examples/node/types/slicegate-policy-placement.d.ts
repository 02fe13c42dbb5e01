/** @module Interface slicegate:policy/placement@0.1.0 **/
export function decide(request: PlacementRequest): Decision;
export function decideBatch(requests: Array<PlacementRequest>): Array<Result<Decision, Error>>;
export function checkPlan(plan: DeploymentPlan): PlanResult;
export function cedarForm(request: PlacementRequest): string;
export type Decision = import('./slicegate-policy-types.js').Decision;
export type Error = import('./slicegate-policy-types.js').Error;
/**
 * # Variants
 * 
 * ## `"place"`
 * 
 * ## `"scale"`
 * 
 * ## `"upgrade"`
 * 
 * ## `"heal"`
 * 
 * ## `"operate"`
 * 
 * ## `"remote-manage"`
 * 
 * ## `"interconnect"`
 * 
 * ## `"terminate"`
 */
export type Operation = 'place' | 'scale' | 'upgrade' | 'heal' | 'operate' | 'remote-manage' | 'interconnect' | 'terminate';
/**
 * # Variants
 * 
 * ## `"consumer"`
 * 
 * ## `"enterprise"`
 * 
 * ## `"critical-infrastructure"`
 * 
 * ## `"public-safety"`
 * 
 * ## `"government"`
 * 
 * ## `"defense"`
 * 
 * ## `"diplomatic"`
 */
export type CustomerCategory = 'consumer' | 'enterprise' | 'critical-infrastructure' | 'public-safety' | 'government' | 'defense' | 'diplomatic';
export interface CriticalComponentNotice {
  filed: string,
  prohibited: boolean,
}
export interface Equipment {
  id: string,
  vendor: string,
  model: string,
  softwareVersion: string,
  softwareSigned: boolean,
  sbom: boolean,
  components: Array<string>,
  subsidyFunded: boolean,
  criticalComponentNotice?: CriticalComponentNotice,
}
export interface Slice {
  id: string,
  sst: number,
  sd?: number,
  category: CustomerCategory,
  usFederal: boolean,
}
export interface Site {
  id: string,
  country: string,
  sensitive: boolean,
  host?: string,
}
export interface RemoteSession {
  fromCountry: string,
  provider: string,
  authorityApproved: boolean,
}
export interface PlacementRequest {
  operation: Operation,
  equipment: Equipment,
  slice: Slice,
  site: Site,
  network: string,
  peer?: string,
  remote?: RemoteSession,
  at: string,
}
export interface PlanItem {
  equipment: Equipment,
  slice: Slice,
  site: Site,
  weight: number,
}
export interface PlanChange {
  operation: Operation,
  item: PlanItem,
  peer?: string,
  remote?: RemoteSession,
}
/**
 * # Variants
 * 
 * ## `"sites"`
 * 
 * ## `"cells"`
 * 
 * ## `"traffic"`
 */
export type ShareMetric = 'sites' | 'cells' | 'traffic';
export interface DeploymentPlan {
  network: string,
  metric: ShareMetric,
  installed: Array<PlanItem>,
  changes: Array<PlanChange>,
  at: string,
}
export interface ItemDecision {
  equipmentId: string,
  operation: Operation,
  decision: Result<Decision, Error>,
}
export interface Share {
  name: string,
  basisPoints: number,
}
export interface PlanResult {
  allowed: boolean,
  items: Array<ItemDecision>,
  plan: Decision,
  accessWeight: bigint,
  listedShares: Array<Share>,
  vendorShares: Array<Share>,
}
export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
