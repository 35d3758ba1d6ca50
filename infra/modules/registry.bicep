// The registry azd pushes the image to; the app pulls with its identity (AcrPull), no admin user.
param name string
param location string
param tags object
param pullPrincipalId string

var acrPullRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139: azd pushes the image from the developer's machine or a hosted CI runner; a private registry needs a VNet-integrated environment and private build agents (docs/deploy.md, Hardening)
  // checkov:skip=CKV_AZURE_166: image quarantine is a Premium-tier preview feature; images are built from this repository by azd and pulled by digest of the deployed revision
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    policies: {
      retentionPolicy: { status: 'disabled', days: 7 }
    }
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, pullPrincipalId, acrPullRole)
  scope: registry
  properties: {
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: acrPullRole
  }
}

output loginServer string = registry.properties.loginServer
