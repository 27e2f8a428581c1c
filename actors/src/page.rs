//! Pagination arithmetic, shared by every list: which slice of an ordered result a page is.
//! Rendering the `{count, next, previous, results}` body (absolute URLs) is the HTTP crate's.

pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 100;

/// A 1-based page of `size` items. Only `PageRequest::new` makes one, so both are in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: usize,
    size: usize,
}

impl PageRequest {
    /// `None` when `page` is 0 or `size` is outside 1..=MAX_PAGE_SIZE.
    pub fn new(page: usize, size: usize) -> Option<Self> {
        (page >= 1 && (1..=MAX_PAGE_SIZE).contains(&size)).then_some(PageRequest { page, size })
    }

    pub fn page(self) -> usize {
        self.page
    }

    pub fn size(self) -> usize {
        self.size
    }

    pub fn offset(self) -> usize {
        (self.page - 1).saturating_mul(self.size)
    }

    /// How many of the first items a source must produce for this page to be cut from them.
    pub fn end(self) -> usize {
        self.offset().saturating_add(self.size)
    }

    /// A page past the end is an error (404), except page 1 of an empty list.
    pub fn exists(self, count: usize) -> bool {
        self.page == 1 || self.offset() < count
    }

    pub fn has_next(self, count: usize) -> bool {
        self.end() < count
    }

    pub fn has_previous(self) -> bool {
        self.page > 1
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// The slice of an ordered list a source is asked for: skip `skip` items, then give `take`.
/// One source asked for a page gets the page's window; several sources whose results are merged
/// each get the window from 0 to the page's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub skip: usize,
    pub take: usize,
}

impl Window {
    pub fn page(p: PageRequest) -> Self {
        Window {
            skip: p.offset(),
            take: p.size(),
        }
    }

    pub fn up_to_end_of(p: PageRequest) -> Self {
        Window {
            skip: 0,
            take: p.end(),
        }
    }

    /// Apply the window to an iterator of items known to be in order.
    pub fn apply<T>(self, items: impl Iterator<Item = T>) -> Vec<T> {
        items.skip(self.skip).take(self.take).collect()
    }
}

/// One page of an ordered list, and how many items the whole list holds.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub count: usize,
    pub items: Vec<T>,
}

impl<T> Paged<T> {
    /// Cut `page` out of the complete ordered list `all`.
    pub fn cut(all: Vec<T>, page: PageRequest) -> Self {
        let count = all.len();
        let items = all
            .into_iter()
            .skip(page.offset())
            .take(page.size())
            .collect();
        Paged { count, items }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            count: self.count,
            items: self.items.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_page_zero_and_sizes_out_of_range() {
        assert!(PageRequest::new(0, 20).is_none());
        assert!(PageRequest::new(1, 0).is_none());
        assert!(PageRequest::new(1, 101).is_none());
        assert!(PageRequest::new(1, 100).is_some());
    }

    #[test]
    fn page_arithmetic_over_a_range_of_counts() {
        for count in 0..70usize {
            for size in 1..=25usize {
                let pages = count.div_ceil(size).max(1);
                for page in 1..=pages + 1 {
                    let p = PageRequest::new(page, size).expect("valid");
                    let exists = p.exists(count);
                    assert_eq!(
                        exists,
                        page <= pages,
                        "count {count} size {size} page {page}"
                    );
                    if exists {
                        let cut = Paged::cut((0..count).collect(), p);
                        assert_eq!(cut.count, count);
                        let expect: Vec<usize> =
                            ((page - 1) * size..(page * size).min(count)).collect();
                        assert_eq!(cut.items, expect, "count {count} size {size} page {page}");
                        assert_eq!(p.has_next(count), page < pages);
                        assert_eq!(p.has_previous(), page > 1);
                    }
                }
            }
        }
    }

    #[test]
    fn huge_page_numbers_do_not_overflow() {
        let p = PageRequest::new(usize::MAX, 100).expect("valid");
        assert!(!p.exists(10));
        assert!(!p.has_next(10));
    }
}
