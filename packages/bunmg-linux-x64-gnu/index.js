// The path of this package's prebuilt libbunmg.so; bunmg's loader (lib/native.ts) reads it.
import { fileURLToPath } from "node:url";

export default fileURLToPath(new URL("./libbunmg.so", import.meta.url));
