# The subsystem's own project, its APIs, and the identities the platform acts as.

locals {
  labels = merge(var.labels, { system = "fooddelivery", subsystem = var.name, env = var.env })
  apis = toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
  project_id = var.create_project ? google_project.this[0].project_id : var.project_id
  # The number is read from the project itself, never from a data source that waits for the
  # APIs: that one would be unknown at every plan that touches an API, and so would every
  # grant to the service agent, planned for replacement.
  project_number       = var.create_project ? google_project.this[0].number : data.google_project.this[0].number
  pubsub_service_agent = "service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project" "this" {
  count = var.create_project ? 1 : 0

  project_id          = var.project_id
  name                = "fooddelivery ${var.name} ${var.env}"
  folder_id           = var.folder_id
  org_id              = var.folder_id == null ? var.org_id : null
  billing_account     = var.billing_account
  auto_create_network = false # nothing here needs a VPC
  deletion_policy     = var.deletion_protection ? "PREVENT" : "DELETE"
  labels              = local.labels
}

resource "google_project_service" "api" {
  for_each = local.apis

  project = local.project_id
  service = each.value
  # Destroying the project removes its APIs; disabling them first only slows teardown down.
  disable_on_destroy = false
}

data "google_project" "this" {
  count = var.create_project ? 0 : 1

  project_id = var.project_id
}

# Who delivers to private functions: Pub/Sub push, Eventarc and Cloud Scheduler each sign
# their requests as one of these, and each may invoke only the functions it feeds.
resource "google_service_account" "invoker" {
  for_each = toset(["push", "eventarc", "scheduler"])

  project      = local.project_id
  account_id   = "${each.key}-invoker"
  display_name = "${each.key} invoker"
  description  = "Identity ${each.key} uses to call the ${var.name} functions it feeds."
  depends_on   = [google_project_service.api]
}

resource "google_project_iam_member" "eventarc_receiver" {
  project = local.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.invoker["eventarc"].member
}

# Pub/Sub signs the OIDC token of every push it makes: the subscriptions' (push) and those
# of the Firestore triggers' Eventarc transport (eventarc). Projects whose Pub/Sub service
# agent dates from before April 2021 (create_project = false) need this; harmless on newer ones.
resource "google_service_account_iam_member" "push_token_creator" {
  for_each = toset(["push", "eventarc"])

  service_account_id = google_service_account.invoker[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${local.pubsub_service_agent}"
}

moved {
  from = google_service_account_iam_member.push_token_creator
  to   = google_service_account_iam_member.push_token_creator["push"]
}

# Cloud Build builds the functions as this account, not as the default compute account.
resource "google_service_account" "builder" {
  project      = local.project_id
  account_id   = "function-builder"
  display_name = "function builder"
  description  = "Identity Cloud Build uses to build the ${var.name} functions."
  depends_on   = [google_project_service.api]
}

# Role => the only buckets it applies to (null: the whole project). Cloud Functions copies
# each source archive into its own gcf-v2-sources-<number>-<region> bucket (made at the first
# deploy, so no bucket grant can name it) and the build fetches it from there.
resource "google_project_iam_member" "builder" {
  for_each = {
    "roles/logging.logWriter"       = null
    "roles/artifactregistry.writer" = null
    "roles/storage.objectViewer"    = "gcf-v2-sources-"
  }

  project = local.project_id
  role    = each.key
  member  = google_service_account.builder.member

  dynamic "condition" {
    for_each = each.value == null ? [] : [each.value]
    content {
      title       = "function sources"
      description = "Only the buckets Cloud Functions copies the source archives into."
      expression  = "resource.name.startsWith(\"projects/_/buckets/${condition.value}\")"
    }
  }
}
