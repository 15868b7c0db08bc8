/** The seed's Snowflake secrets for a stand-in account `testacct`, user `loader` and the given password. */
export function seedSnowflakeSecrets(password: string): Record<string, string> {
  return {
    'snowflake-account': 'testacct',
    'snowflake-user': 'loader',
    'snowflake-password': password,
    'snowflake-warehouse': 'LOAD_WH',
    'snowflake-database': 'RAW',
    'snowflake-schema': 'PUBLIC',
  };
}
