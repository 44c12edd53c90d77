// esbuild bundles CSS imported from a widget entry into <name>.css.
declare module "*.css";
