// Types of bundle.mjs, which is plain JavaScript so that start.mjs can use it before any TypeScript runs.
export interface Bundle {
  file: string;
  temporary: boolean;
}
export function bundled(root: string, entry: string, options?: { folder: string }): Promise<Bundle>;
export function removeBundle(bundle: Bundle): void;
export function importTypeScript(root: string, file: string): Promise<unknown>;
