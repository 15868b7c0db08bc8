// Key Vault holding the pipelines' secrets (names like `snowflake-account`). RBAC mode only
// (no access policies), soft delete and purge protection on: a deleted secret can be recovered
// and nobody can purge it before the retention ends.

@description('Key Vault name (3-24 letters, digits and hyphens, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('Days a deleted secret stays recoverable (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('default creates the vault; recover restores a soft-deleted vault of this name with its secrets (AVM key-vault/vault 0.13.3 createMode, allowed default|recover).')
@allowed(['default', 'recover'])
param createMode string = 'default'

module vault 'br/public:avm/res/key-vault/vault:0.13.3' = {
  name: '${uniqueString(deployment().name, location)}-vault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // A purge-protected vault stays soft-deleted after `azd down` and blocks its name until the
    // retention ends; 'recover' brings it back instead of failing with a name conflict.
    createMode: createMode
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output name string = vault.outputs.name
output resourceId string = vault.outputs.resourceId
output uri string = vault.outputs.uri
