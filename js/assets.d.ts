// esbuild bundles the stylesheet that widget.js imports for its side effect.
declare module "*.css";
