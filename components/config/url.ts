import { z } from "zod";

/** Query parameters that carry credentials in the URLs people paste. */
const CREDENTIAL_PARAMS = /^(token|access_token|api[-_]?key|apikey|key|password|passwd|secret|sig|signature|auth|authorization)$/i;

/**
 * An http(s) URL that carries no credentials: no `user:password@`, no token query parameters.
 * Such a URL ends up in command lines, rendered config files and stack outputs, where a
 * credential is readable by anyone who can read those; `where` says which secret key to use.
 */
export function credentialFreeUrl(where: string) {
  return z.url({ protocol: /^https?$/ }).superRefine((raw, ctx) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return;
    }
    const params = [...u.searchParams.keys()].filter((k) => CREDENTIAL_PARAMS.test(k));
    if (u.username || u.password || params.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `the URL carries credentials (${u.username || u.password ? "user:password@" : `query parameter ${params.join(", ")}`})|a URL without credentials; ${where}`,
      });
    }
  });
}
