// Key Vault for what must stay secret (webhook key, operator key); RBAC, purge protection.
param name string
param location string
param tags object
param readerPrincipalId string

@description('Object id of a person who may manage secrets; empty for none.')
param adminPrincipalId string = ''

@secure()
@description('Secrets to store: [{ name, value }].')
param secrets array

@description('When the secrets expire (rotate them before): a year from the deployment.')
param secretExpiry string = dateTimeAdd(utcNow(), 'P1Y')

var secretsUserRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
var secretsOfficerRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: Container Apps resolves Key Vault secret references from outside the vault's trusted services; without a VNet-integrated environment a firewall would block them. RBAC only, purge protection on (docs/deploy.md, Hardening)
  // checkov:skip=CKV_AZURE_189: same reason as CKV_AZURE_109: no private endpoint without a VNet-integrated environment
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for item in secrets: {
  parent: vault
  name: item.name
  properties: {
    value: item.value
    contentType: 'text/plain'
    attributes: {
      enabled: true
      exp: dateTimeToEpoch(secretExpiry)
    }
  }
}]

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, secretsUserRole)
  scope: vault
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: secretsUserRole
  }
}

resource admin 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(adminPrincipalId)) {
  name: guid(vault.id, adminPrincipalId, secretsOfficerRole)
  scope: vault
  properties: {
    principalId: adminPrincipalId
    principalType: 'User'
    roleDefinitionId: secretsOfficerRole
  }
}

output uri string = vault.properties.vaultUri
output name string = vault.name
