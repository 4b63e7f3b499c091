//! CSV import: the shop's data in. One file is one transaction; any bad row writes nothing.
//!
//! An import runs in two steps so it never holds the write lock while it reads a file:
//! [`stage`] parses and checks every row and resolves references (suppliers, SKUs, customers)
//! with plain reads; [`apply`] then writes everything in one short `BEGIN IMMEDIATE`
//! transaction. Rows and lookups are the same for every kind; each kind's own rules live in its
//! file.
//!
//! A bad row does not stop the checks: the good rows are still staged and checked against the
//! stored state by [`apply`], so one refusal lists every bad row of every kind (a cell, a
//! reference, a rule of the stored state) and the caller's transaction is rolled back.

mod customers;
mod discount_codes;
mod orders;
mod products;
mod purchase_orders;
mod sales;
mod suppliers;

use super::promise::{settle, Cause};
use super::{Actor, App, AppResult};
use crate::domain::audit::AuditEntry;
use crate::domain::{ident, parse_quantity, CustomerRef, Sku, SupplierId};
use crate::store::{self, audit, customers::CustomerRow, products::ProductRow, Conn};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Products.
    Products,
    /// Suppliers.
    Suppliers,
    /// Customers.
    Customers,
    /// Purchase-order lines.
    PurchaseOrders,
    /// Order lines.
    Orders,
    /// Past sales: demand history, on-hand unchanged.
    Sales,
    /// Discount codes for the incentives pool.
    DiscountCodes,
}

impl ImportKind {
    /// Parses the CLI spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "products" => Self::Products,
            "suppliers" => Self::Suppliers,
            "customers" => Self::Customers,
            "purchase-orders" => Self::PurchaseOrders,
            "orders" => Self::Orders,
            "sales" => Self::Sales,
            "discount-codes" => Self::DiscountCodes,
            _ => return None,
        })
    }

    /// Columns, key first; the required ones are marked.
    pub fn columns(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::Products => &[
                ("sku", true),
                ("name", true),
                ("category", false),
                ("unit_price", true),
                ("on_hand", false),
                ("reorder_point", false),
                ("safety_stock", false),
                ("reorder_qty", false),
                ("lead_time_days", false),
                ("supplier", false),
                ("substitutes", false),
            ],
            Self::Suppliers => &[
                ("code", true),
                ("name", true),
                ("email", false),
                ("phone", false),
                ("lead_time_days", false),
            ],
            Self::Customers => &[
                ("id", true),
                ("name", true),
                ("email", false),
                ("phone", false),
                ("tier", false),
                ("channel", false),
                ("timezone", false),
            ],
            Self::PurchaseOrders => &[
                ("po", true),
                ("supplier", false),
                ("sku", true),
                ("qty", true),
                ("eta", false),
                ("status", false),
            ],
            Self::Orders => &[
                ("order", true),
                ("customer", true),
                ("sku", true),
                ("qty", true),
                ("unit_price", false),
                ("ordered_at", false),
            ],
            Self::Sales => &[
                ("sku", true),
                ("qty", true),
                ("sold_at", true),
                ("order", false),
                ("customer", false),
            ],
            Self::DiscountCodes => &[("code", true), ("kind", false), ("value", false)],
        }
    }
}

/// One bad cell or row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub line: usize,
    /// Column, if one is to blame.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// Problems a refusal shows; the rest are counted.
pub const SHOWN_PROBLEMS: usize = 50;

/// Why a file was refused: every problem found, the first [`SHOWN_PROBLEMS`] shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors {
    /// Problems in file order.
    pub errors: Vec<RowError>,
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "import refused, nothing was written: {} problem(s)",
            self.errors.len()
        )?;
        for e in self.errors.iter().take(SHOWN_PROBLEMS) {
            match &e.column {
                Some(c) => write!(f, "\n  line {}, column {c}: {}", e.line, e.reason)?,
                None => write!(f, "\n  line {}: {}", e.line, e.reason)?,
            }
        }
        if self.errors.len() > SHOWN_PROBLEMS {
            write!(f, "\n  … and {} more", self.errors.len() - SHOWN_PROBLEMS)?;
        }
        Ok(())
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows that created or changed something.
    pub changed: usize,
    /// Rows that matched what was stored.
    pub unchanged: usize,
    /// Backorders created (orders).
    pub backorders_created: usize,
    /// Warnings (unknown columns).
    pub warnings: Vec<String>,
}

/// One data row: its physical line and its cells, found by column name.
struct Row {
    line: usize,
    record: csv::StringRecord,
    /// Known column → position in the record (shared by all rows of a file).
    columns: Arc<[(&'static str, usize)]>,
}

impl Row {
    /// The trimmed cell, `None` when the column is absent or the cell empty.
    fn get(&self, col: &str) -> Option<&str> {
        let (_, i) = self.columns.iter().find(|(c, _)| *c == col)?;
        self.record
            .get(*i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

/// Collects problems with row and column while rows are checked.
#[derive(Default)]
struct Problems(Vec<RowError>);

impl Problems {
    fn add(&mut self, line: usize, column: &str, reason: impl fmt::Display) {
        self.0.push(RowError {
            line,
            column: Some(column.to_string()),
            reason: reason.to_string(),
        });
    }

    /// Parses a cell; records the problem and returns `None` on failure.
    fn cell<T, E: fmt::Display>(
        &mut self,
        row: &Row,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = row.get(col)?;
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(row.line, col, e);
                None
            }
        }
    }

    fn cell_sku(&mut self, line: usize, raw: &str) -> Option<Sku> {
        match Sku::parse(raw) {
            Ok(s) => Some(s),
            Err(e) => {
                self.add(line, "substitutes", e);
                None
            }
        }
    }

    fn required<T, E: fmt::Display>(
        &mut self,
        row: &Row,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        if row.get(col).is_none() {
            self.add(row.line, col, "is empty");
            return None;
        }
        self.cell(row, col, parse)
    }
}

/// A file's rows one at a time, after its header was checked: a million-row file is never held
/// in memory as records.
struct RowReader<R: Read> {
    reader: csv::Reader<R>,
    columns: Arc<[(&'static str, usize)]>,
    /// Unknown columns, said once.
    warnings: Vec<String>,
}

impl<R: Read> RowReader<R> {
    /// Reads and checks the header row.
    fn open(kind: ImportKind, input: R) -> Result<Self, ImportErrors> {
        let fail = |reason: String| ImportErrors {
            errors: vec![RowError {
                line: 1,
                column: None,
                reason,
            }],
        };
        // Cells are trimmed where they are read (`Row::get`), not copied here.
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| fail(format!("cannot read the header row: {e}")))?
            .clone();
        if headers.len() == 1 && headers[0].contains(';') {
            return Err(fail(
                "the separator must be a comma: the header row is separated by semicolons (\";\"); \
                 save the file as CSV with commas"
                    .to_string(),
            ));
        }
        let header: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let known = kind.columns();
        let missing: Vec<&str> = known
            .iter()
            .filter(|(c, req)| *req && !header.iter().any(|h| h == c))
            .map(|(c, _)| *c)
            .collect();
        if !missing.is_empty() {
            return Err(fail(format!(
                "the header row lacks required column(s): {}",
                missing.join(", ")
            )));
        }
        let unknown: Vec<&str> = header
            .iter()
            .filter(|h| !known.iter().any(|(c, _)| c == h))
            .map(String::as_str)
            .collect();
        let mut warnings = Vec::new();
        if !unknown.is_empty() {
            warnings.push(format!("ignored unknown column(s): {}", unknown.join(", ")));
        }
        let columns: Arc<[(&'static str, usize)]> = known
            .iter()
            .filter_map(|(c, _)| header.iter().position(|h| h == c).map(|i| (*c, i)))
            .collect();
        Ok(Self {
            reader,
            columns,
            warnings,
        })
    }

    /// An empty row to read into (its record is reused from row to row).
    fn blank(&self) -> Row {
        Row {
            line: 1,
            record: csv::StringRecord::new(),
            columns: self.columns.clone(),
        }
    }

    /// Reads the next row into `row`: `Ok(false)` at the end. An `Err` that is `fatal` ends the
    /// file (the reader cannot resynchronise after an I/O or UTF-8 error); otherwise reading
    /// may go on with the next row.
    fn read_into(&mut self, row: &mut Row) -> Result<bool, (RowError, bool)> {
        // Physical lines, not record numbers: a quoted field may span several lines.
        let starts_at = self.reader.position().line() as usize;
        match self.reader.read_record(&mut row.record) {
            Ok(more) => {
                row.line = row
                    .record
                    .position()
                    .map_or(starts_at, |p| p.line() as usize);
                Ok(more)
            }
            Err(e) => {
                let line = e.position().map_or(starts_at, |p| p.line() as usize);
                let fatal = !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. });
                let error = RowError {
                    line,
                    column: None,
                    reason: format!("not a valid CSV row: {}", csv_reason(&e)),
                };
                Err((error, fatal))
            }
        }
    }
}

impl<R: Read> RowReader<R> {
    /// Reads the next valid CSV row into `row`: `false` at the end of the file. A row that is not
    /// valid CSV is recorded in `p` and skipped; one the reader cannot get past ends the file.
    fn next_valid(&mut self, row: &mut Row, p: &mut Problems) -> bool {
        loop {
            match self.read_into(row) {
                Ok(more) => return more,
                Err((e, fatal)) => {
                    p.0.push(e);
                    if fatal {
                        return false;
                    }
                }
            }
        }
    }
}

/// Every row of a file (the kinds whose files are small enough to hold); rows that are not valid
/// CSV are recorded in `p` and left out.
fn read_rows(
    kind: ImportKind,
    input: impl Read,
    p: &mut Problems,
) -> Result<(Vec<Row>, Vec<String>), ImportErrors> {
    let mut reader = RowReader::open(kind, input)?;
    let mut rows = Vec::new();
    let mut row = reader.blank();
    while reader.next_valid(&mut row, p) {
        rows.push(std::mem::replace(&mut row, reader.blank()));
    }
    Ok((rows, reader.warnings))
}

/// What is wrong with a record, without the csv crate's own (record-numbered) position.
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("it has {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "it is not valid UTF-8".to_string(),
        _ => e.to_string(),
    }
}

pub(super) fn lead_time(raw: &str) -> Result<i64, String> {
    let n = parse_quantity(raw).map_err(|e| e.to_string())?;
    if n > 730 {
        return Err(format!("{n} days is more than two years"));
    }
    Ok(n)
}

/// References looked up once per distinct value while rows are checked (outside the write lock:
/// suppliers, products and customers are never deleted, so what was found stays valid).
#[derive(Default)]
struct Lookups {
    suppliers: HashMap<String, Option<SupplierId>>,
    products: HashMap<String, Option<ProductRow>>,
    customers: HashMap<String, Option<CustomerRow>>,
}

impl Lookups {
    /// The id of the row's `supplier` code; an unknown code is a problem of the row.
    async fn supplier(
        &mut self,
        conn: &mut Conn,
        p: &mut Problems,
        row: &Row,
    ) -> AppResult<Option<SupplierId>> {
        let Some(code) = row.get("supplier") else {
            return Ok(None);
        };
        // Checked before the lookup so that "unknown supplier" never echoes a control character.
        if let Err(e) = ident::identifier(code) {
            p.add(row.line, "supplier", e);
            return Ok(None);
        }
        if !self.suppliers.contains_key(code) {
            let found = store::suppliers::by_code(conn, code).await?.map(|s| s.id);
            self.suppliers.insert(code.to_string(), found);
        }
        let found = self.suppliers[code];
        if found.is_none() {
            p.add(row.line, "supplier", format!("unknown supplier \"{code}\""));
        }
        Ok(found)
    }

    /// The stored product of a SKU, or `None` (without recording a problem).
    async fn product_by_key(
        &mut self,
        conn: &mut Conn,
        sku: &Sku,
    ) -> AppResult<Option<&ProductRow>> {
        let key = sku.key();
        if !self.products.contains_key(&key) {
            let found = store::products::by_key(conn, &key).await?;
            self.products.insert(key.clone(), found);
        }
        Ok(self.products[&key].as_ref())
    }

    /// The product of the row's parsed SKU; an unknown SKU is a problem of the row.
    async fn product(
        &mut self,
        conn: &mut Conn,
        p: &mut Problems,
        line: usize,
        sku: Option<&Sku>,
    ) -> AppResult<Option<ProductRow>> {
        let Some(sku) = sku else { return Ok(None) };
        let found = self.product_by_key(conn, sku).await?.cloned();
        if found.is_none() {
            p.add(line, "sku", format!("unknown SKU \"{sku}\""));
        }
        Ok(found)
    }

    /// The customer of the row's `customer` id; empty or unknown is a problem of the row.
    async fn customer(
        &mut self,
        conn: &mut Conn,
        p: &mut Problems,
        row: &Row,
    ) -> AppResult<Option<CustomerRow>> {
        let Some(id) = row.get("customer") else {
            p.add(row.line, "customer", "is empty");
            return Ok(None);
        };
        if let Err(e) = CustomerRef::parse(id) {
            p.add(row.line, "customer", e);
            return Ok(None);
        }
        let key = id.to_uppercase();
        if !self.customers.contains_key(&key) {
            let found = store::customers::by_external_id(conn, id).await?;
            self.customers.insert(key.clone(), found);
        }
        let found = self.customers[&key].clone();
        if found.is_none() {
            p.add(row.line, "customer", format!("unknown customer \"{id}\""));
        }
        Ok(found)
    }
}

/// A file read and checked, ready to be written by [`apply`]: its good rows, and the problems
/// of its bad ones (then [`apply`] only checks the good rows against the stored state and
/// refuses the file with every problem).
pub struct Staged {
    kind: ImportKind,
    rows: usize,
    warnings: Vec<String>,
    data: Data,
    problems: Problems,
}

enum Data {
    /// Products wait in temporary tables of the staging connection.
    Products,
    /// Suppliers, customers and order lines wait in temporary tables likewise.
    Suppliers,
    Customers,
    PurchaseOrders(Vec<purchase_orders::PoLine>),
    Orders,
    /// Sales wait in a temporary table likewise.
    Sales,
    /// Discount codes wait in a temporary table likewise.
    DiscountCodes,
}

impl Problems {
    /// `Err` with every problem in line order, if there are any.
    fn into_result(mut self) -> Result<(), ImportErrors> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(|e| e.line);
        Err(ImportErrors { errors: self.0 })
    }
}

/// Reads and checks a file without taking the write lock. Good rows are staged on `conn`, so
/// [`apply`] must run on the same connection; bad rows' problems wait in the result for
/// [`apply`], which adds those of the stored state (only a file that cannot be read at all, or
/// whose header is wrong, is refused here).
pub async fn stage(
    conn: &mut Conn,
    kind: ImportKind,
    input: impl Read + Send + 'static,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Staged> {
    let mut p = Problems::default();
    let (rows, warnings, data) = match kind {
        // Products files are the big ones: read as a stream, checked beside the staging.
        ImportKind::Products => {
            let (rows, warnings) = products::stage(conn, input, &mut p).await?;
            (rows, warnings, Data::Products)
        }
        ImportKind::Sales => {
            let (rows, warnings) = sales::stage(conn, input, &mut p, now).await?;
            (rows, warnings, Data::Sales)
        }
        _ => {
            let (rows, warnings) = read_rows(kind, input, &mut p)?;
            let data = stage_rows(conn, kind, &rows, &mut p, now).await?;
            (rows.len(), warnings, data)
        }
    };
    Ok(Staged {
        kind,
        rows,
        warnings,
        data,
        problems: p,
    })
}

/// Checks and stages the rows of a file read whole (every kind but products).
async fn stage_rows(
    conn: &mut Conn,
    kind: ImportKind,
    rows: &[Row],
    p: &mut Problems,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Data> {
    let mut look = Lookups::default();
    Ok(match kind {
        ImportKind::Products | ImportKind::Sales => {
            return Err(anyhow::anyhow!("{kind:?} files are staged as a stream, not whole").into())
        }
        ImportKind::Suppliers => {
            let checked = suppliers::parse(rows, p);
            suppliers::stage(conn, &checked).await?;
            Data::Suppliers
        }
        ImportKind::Customers => {
            let checked = customers::parse(rows, p);
            customers::stage(conn, &checked).await?;
            Data::Customers
        }
        ImportKind::PurchaseOrders => {
            Data::PurchaseOrders(purchase_orders::parse(conn, rows, p, &mut look).await?)
        }
        ImportKind::Orders => {
            orders::stage(conn, rows, p, &mut look, now).await?;
            Data::Orders
        }
        ImportKind::DiscountCodes => {
            let checked = discount_codes::parse(rows, p);
            discount_codes::stage(conn, &checked).await?;
            Data::DiscountCodes
        }
    })
}

/// Writes a staged file inside the caller's write transaction, then settles the promises it
/// touched and records it in the audit log. Any problem, staged or found here (rules that depend
/// on the stored state), refuses the whole file: the caller must then roll its transaction back.
pub async fn apply(
    app: &App,
    conn: &mut Conn,
    actor: &Actor,
    staged: Staged,
) -> AppResult<ImportReport> {
    let change = crate::app::approvals::begin(conn).await?;
    let mut report = ImportReport {
        rows: staged.rows,
        warnings: staged.warnings,
        ..ImportReport::default()
    };
    let mut p = staged.problems;
    let (touched, cause) = match staged.data {
        Data::Products => (
            products::apply(app, conn, actor, &mut report, &mut p).await?,
            Cause::StockAdjusted,
        ),
        Data::Suppliers => (suppliers::apply(conn, &mut report).await?, Cause::PoChanged),
        Data::Customers => (
            customers::apply(conn, &mut report).await?,
            Cause::TierChanged,
        ),
        Data::PurchaseOrders(rows) => (
            purchase_orders::apply(app, conn, actor, &rows, &mut report, &mut p).await?,
            Cause::PoChanged,
        ),
        Data::Orders => (
            orders::apply(app, conn, &mut report, &mut p).await?,
            Cause::BackorderCreated,
        ),
        // Demand history only: no stock, backorder or promise moves.
        Data::Sales => {
            sales::apply(conn, &mut report, app.clock.now()).await?;
            (Vec::new(), Cause::StockAdjusted)
        }
        // The pool only: no stock, backorder or promise moves.
        Data::DiscountCodes => {
            discount_codes::apply(conn, &mut report, &mut p, app.clock.now()).await?;
            (Vec::new(), Cause::StockAdjusted)
        }
    };
    p.into_result()?;
    settle(app, conn, &touched, cause, &actor.name, "import", false).await?;
    audit::record(
        conn,
        &AuditEntry::ok(
            &actor.name,
            "import",
            format!(
                "{:?}: {} rows, {} changed",
                staged.kind, report.rows, report.changed
            ),
        ),
        app.clock.now(),
    )
    .await?;
    let what = format!("import of a {:?} file", staged.kind);
    crate::app::approvals::judge(app, conn, change, &actor.name, &what).await?;
    Ok(report)
}

/// Imports one CSV file of the given kind as one transaction. The file is read and checked
/// first; the write lock is held only while the checked rows are written.
pub async fn import(
    app: &App,
    actor: &Actor,
    kind: ImportKind,
    input: impl Read + Send + 'static,
) -> AppResult<ImportReport> {
    let mut conn = app.store.conn().await?;
    let result = stage_and_apply(app, &mut conn, actor, kind, input).await;
    // Staging tables hold a whole file: free them before the connection goes back to the pool.
    store::import::clear(&mut conn).await?;
    result
}

async fn stage_and_apply(
    app: &App,
    conn: &mut Conn,
    actor: &Actor,
    kind: ImportKind,
    input: impl Read + Send + 'static,
) -> AppResult<ImportReport> {
    let staged = stage(conn, kind, input, app.clock.now()).await?;
    let mut tx = store::begin_write_on(conn).await?;
    let report = apply(app, &mut tx, actor, staged).await?;
    tx.commit().await?;
    Ok(report)
}

fn count(report: &mut ImportReport, changed: bool) {
    if changed {
        report.changed += 1;
    } else {
        report.unchanged += 1;
    }
}
