// pnpm hooks for this workspace.
//
// beforePacking runs on `pnpm pack` / `pnpm publish` (and so on `changeset publish`), on the
// manifest that goes into the tarball, never on the package.json in the repository. A published
// package keeps only what its users need: devDependencies name private workspace packages
// (`@x/testkit`, `@x/vitest-config`) that exist on no registry, and the scripts point into this
// repository (`../../tooling/...`); npm never reads either for a dependency.
module.exports = {
  hooks: {
    beforePacking(pkg) {
      delete pkg.devDependencies;
      delete pkg.scripts;
      return pkg;
    },
  },
};
