/** @module Interface slicegate:policy/authorizer@0.1.0 **/
export function authorize(request: Request): Decision;
export function authorizeBatch(requests: Array<Request>): Array<Result<Decision, Error>>;
export type EntityUid = import('./slicegate-policy-types.js').EntityUid;
export type Decision = import('./slicegate-policy-types.js').Decision;
export type Error = import('./slicegate-policy-types.js').Error;
export interface Request {
  principal: EntityUid,
  action: EntityUid,
  resource: EntityUid,
  contextJson: string,
  validate: boolean,
  entitiesJson?: string,
}
export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
