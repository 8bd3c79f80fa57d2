import { agg, recorded, sel } from "../../metrics";

/** One series per GPU host with its name in `host`, from the recorded series that fold both spellings into it. */
export function dcgmHostsExpr(): string {
  return agg("count", sel(recorded["gpu:DCGM_FI_DEV_GPU_TEMP:measured"]), ["host"]);
}
