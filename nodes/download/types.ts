import type { BackoffPolicy } from './backoff';
import type { DownloadProgress } from './progress';
import type { HfSettings } from './resolve-url';

export interface EnsureFileOptions {
  /** http(s)://… or hf://org/repo/path[@rev] */
  url: string;
  /** final path */
  dest: string;
  /** lowercase hex; when given, the file is verified before use. Else the origin's `x-linked-etag`, when it sends one. */
  sha256?: string;
  /**
   * Refuse a file no sha256 vouches for (neither `sha256` nor the origin's `x-linked-etag`).
   * The agent sets it unless the catalog entry allows unverified weights; default false.
   */
  requireDigest?: boolean;
  /** hf:// endpoint and token (default: from the environment, see hfFromEnv) */
  hf?: HfSettings;
  /** expected size when known */
  bytes?: number;
  /** parallel range requests (default 4), each taking the next ~16 MB piece in file order; 1 when the origin lacks ranges or the file is small */
  segments?: number;
  signal?: AbortSignal;
  /** at most every 250 ms, plus once at the end */
  onProgress?: (p: DownloadProgress) => void;
  /** injectable for tests; default statfs of the dest directory */
  diskFreeBytes?: () => Promise<number>;
  /** tuning: no bytes for this long aborts a segment's request and retries it (default 30 000) */
  stallMs?: number;
  /** tuning: fruitless attempts per segment before giving up (default 8) */
  retries?: number;
  /** tuning: retry delays (default 250 ms doubling, capped at 10 s, jittered) */
  backoff?: BackoffPolicy;
  /** http:// and https:// through the copy-free raw HTTP/1.1 client with kept-alive connections (default true); false forces node:http */
  rawHttp?: boolean;
}

export interface EnsureFileResult {
  path: string;
  bytes: number;
  /** body bytes fetched by this call (0 when reused or resumed from a complete partial) */
  fetchedBytes: number;
  /** true when a verified file was already at dest */
  reused: boolean;
  /** the sha256 the file was verified against (null: size only, allowed by the caller) */
  sha256: string | null;
}
