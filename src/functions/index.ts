/** Registers every function. Each registration file is a thin layer over plain modules. */
export function registerFunctions(): void {
  // Filled as the registration files land (orchestrators, activities, HTTP API, scheduler).
}
