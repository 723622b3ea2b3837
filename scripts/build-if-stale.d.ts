/** Types of build-if-stale.js (a CommonJS script, so that `npm start` needs no compiler). */
export declare const BUILD_INPUTS: readonly string[];
export declare function staleReason(root: string): string | null;
export declare function buildIfStale(root: string, options?: { quiet?: boolean }): { built: boolean; reason: string | null; seconds: number };
