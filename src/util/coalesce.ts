// The implementation lives beside the wire protocol, the one part of src/ the node agent builds from.
export { coalesced } from '../protocol/coalesce';
