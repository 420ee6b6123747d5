/** Types for nodes/build.mjs (plain JavaScript so the bin can run it before any build exists). */
export declare const DIST: string;
export declare function inputStamp(): Promise<string>;
export declare function build(): Promise<{ ms: number; files: number }>;
export declare function ensureBuilt(options?: { force?: boolean }): Promise<{ ms: number; files: number } | null>;
