/** A JSON value: what may cross a Durable boundary (inputs, outputs, custom status). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
