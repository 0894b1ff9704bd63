/*
 * export.c: open data (Open Government Licence), safe to publish.
 */
#include "router.h"

void th__export_open_data(th__ctx *x, const th__site_row *site) {
  (void)site;
  th__respond_error(x->req, TH_ENOTFOUND, "No such open data file.");
}
