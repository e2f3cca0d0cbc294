import { z } from "zod";

// Strict on purpose: the name and version become whole argv elements of apt-get/dnf. No leading '-'
// (never an option), no spaces, no shell or glob characters, bounded length.

/** Debian and RPM package names. */
export const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$/;
/** Debian (epoch:upstream-revision, ~) and RPM (version-release) versions. */
export const PACKAGE_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+~:_-]{0,127}$/;

export const packageUpdateParamsSchema = z
  .object({
    // The package to install or upgrade.
    name: z.string().regex(PACKAGE_NAME, "a package name: letters, digits and + . _ -, not starting with '-'"),
    // Exact version to install; absent = the newest the host's repositories offer.
    version: z.string().regex(PACKAGE_VERSION, "a package version: letters, digits and . + ~ : _ -, starting with a letter or digit").optional(),
  })
  .strict();
export type PackageUpdateParams = z.infer<typeof packageUpdateParamsSchema>;
