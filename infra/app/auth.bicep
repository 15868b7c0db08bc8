// App Service Authentication ("Easy Auth", authsettingsV2) with Microsoft Entra ID in front of
// the console and the API's console door. Unauthenticated requests are let through
// (AllowAnonymous) on purpose: the CLI and automation call /api/… with a function key and no
// Entra token, and the Functions host checks that key; the app itself refuses the console door
// without a signed-in principal (src/api/access.ts). With the module on, App Service sets
// WEBSITE_AUTH_ENABLED=True and strips client-sent x-ms-client-principal headers, which is what
// lets the app believe that header.
// Schema: Microsoft.Web/sites/config 'authsettingsV2' (learn.microsoft.com/azure/templates/
// microsoft.web/sites/config-authsettingsv2). UNVERIFIED here (no Azure subscription): the
// deployment itself, the sign-in round trip on Flex Consumption, and the role claims arriving.

@description('Name of the Function App (Microsoft.Web/sites) to put sign-in in front of.')
param siteName string

@description('Application (client) id of the Entra app registration that defines the Pipelines.Read and Pipelines.Operate app roles (docs/deploy.md).')
param clientId string

@description('Directory (tenant) id the app registration lives in.')
param tenantId string = tenant().tenantId

@description('App setting holding the app registration\'s client secret (a Key Vault reference), used for the sign-in code flow.')
param clientSecretSettingName string = 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
          clientId: clientId
          clientSecretSettingName: clientSecretSettingName
        }
        validation: {
          allowedAudiences: [
            'api://${clientId}'
            clientId
          ]
        }
        login: {
          // The roles claim comes in the ID token once app roles are assigned; no extra scopes needed.
          loginParameters: []
        }
      }
    }
    login: {
      tokenStore: { enabled: true }
      preserveUrlFragmentsForLogins: true
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: { convention: 'NoProxy' }
    }
  }
}
