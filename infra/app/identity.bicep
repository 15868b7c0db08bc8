// The one user-assigned identity the app, the dbt job and App Insights ingestion use.
// A user-assigned identity survives app re-creation, so role assignments and the Snowflake
// workload-identity subject (its object id) stay valid across redeploys.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object

module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.5.0' = {
  name: '${uniqueString(deployment().name, location)}-userAssignedIdentity'
  params: {
    name: name
    location: location
    tags: tags
  }
}

output resourceId string = identity.outputs.resourceId
output clientId string = identity.outputs.clientId
output principalId string = identity.outputs.principalId
output name string = identity.outputs.name
