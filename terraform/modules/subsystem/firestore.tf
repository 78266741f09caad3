# The subsystem's documents: views, entities and micro event stores.

resource "google_firestore_database" "this" {
  project     = local.project_id
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"

  depends_on = [google_project_service.api]
}

# Documents carrying a time to live, e.g. the BFFs' stored idempotency answers
# (shared/idempotency_keys.py). Firestore deletes them some time after it.
resource "google_firestore_field" "ttl" {
  for_each = { for ttl in var.ttl_fields : "${ttl.collection}.${ttl.field}" => ttl }

  project    = local.project_id
  database   = google_firestore_database.this.name
  collection = each.value.collection
  field      = each.value.field

  # No single-field index: no query reads it, and an indexed timestamp that only grows
  # would hold the collection to 500 writes a second.
  index_config {}

  ttl_config {}
}

# Keyed by collection and fields with their direction, as the topology writes them
# ("tickets(restaurantId,status,receivedAt desc)"): two indexes may differ by direction only.
resource "google_firestore_index" "this" {
  for_each = {
    for index in var.firestore_indexes :
    "${index.collection}(${join(",", [for f in index.fields : f.order == "DESCENDING" ? "${f.field_path} desc" : f.field_path])})" => index
  }

  project    = local.project_id
  database   = google_firestore_database.this.name
  collection = each.value.collection

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}
