/** The path of this package's prebuilt libbunmg.so. */
declare const libraryPath: string;
export default libraryPath;
