export { Host } from "./host.mjs";
export { BundleRefused, TrustStoreError, checkRollback, highestRevision, isVerified, loadTrustStore, readBundle, verifyBundle } from "./bundle.mjs";
export { parseJson, parseInstant, JsonFloat } from "./strict.mjs";
export { decode, PLACEMENT_REQUEST, DEPLOYMENT_PLAN, CEDAR_REQUEST } from "./types.mjs";
