// Command demo is a WASI command guest that handles one simulated order and
// reports what it does through the Observe API (dylibso:observe/api):
// nested spans with tags, logs at several levels and statsd metrics. It is
// the guest that extism-observe's documentation and tests run:
//
//	extism-observe run testdata/demo.wasm
//
// Build it with ../build.sh, or:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -o ../demo.wasm .
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type line struct {
	sku   string
	qty   int
	price int // cents
}

type order struct {
	id       int
	customer string
	tier     string
	lines    []line
}

// stock is the inventory table that load_inventory "queries".
var stock = map[string]int{"sku-kettle": 12, "sku-mug": 40, "sku-teapot": 0}

func main() {
	o := order{
		id:       1042,
		customer: "c-7",
		tier:     "gold",
		lines: []line{
			{sku: "sku-kettle", qty: 1, price: 2999},
			{sku: "sku-mug", qty: 2, price: 1499},
		},
	}
	if err := handle(o); err != nil {
		fmt.Fprintf(os.Stderr, "order %d: %v\n", o.id, err)
		os.Exit(1)
	}
}

func handle(o order) error {
	start := time.Now()
	end := span("handle_order", fmt.Sprintf("order.id:%d,customer.tier:%s", o.id, o.tier))
	defer end()
	log(levelInfo, fmt.Sprintf("handling order %d for customer %s", o.id, o.customer))

	items, err := validate(o)
	if err != nil {
		log(levelError, err.Error())
		return err
	}
	total := price(o)
	if err := charge(o, total); err != nil {
		log(levelError, err.Error())
		return err
	}

	latency := float64(time.Since(start).Microseconds()) / 1000
	metric(strings.Join([]string{
		"orders.processed:1|c|#tier:" + o.tier,
		"order.total:" + money(total) + "|g",
		"checkout.latency:" + strconv.FormatFloat(latency, 'f', 3, 64) + "|ms|#tier:" + o.tier,
		"items.per_order:" + strconv.Itoa(items) + "|h",
	}, "\n"))
	log(levelInfo, fmt.Sprintf("order %d charged %s", o.id, money(total)))
	fmt.Printf("order %d: %d items, total %s\n", o.id, items, money(total))
	return nil
}

// validate checks the order lines against the inventory and returns the
// number of items.
func validate(o order) (int, error) {
	defer span("validate", "")()
	if len(o.lines) == 0 {
		return 0, fmt.Errorf("order %d has no lines", o.id)
	}
	inv := loadInventory(o)
	items := 0
	for _, l := range o.lines {
		if inv[l.sku] < l.qty {
			return 0, fmt.Errorf("%s: %d in stock, %d ordered", l.sku, inv[l.sku], l.qty)
		}
		items += l.qty
	}
	time.Sleep(time.Millisecond)
	return items, nil
}

func loadInventory(o order) map[string]int {
	// Tags are split at commas, so the statement has none.
	defer span("load_inventory", "db.system:sqlite,db.statement:SELECT stock FROM inventory WHERE sku = ?")()
	inv := make(map[string]int, len(o.lines))
	for _, l := range o.lines {
		inv[l.sku] = stock[l.sku]
		time.Sleep(time.Millisecond) // one lookup
	}
	return inv
}

// price returns the order total in cents, with the tier's discount.
func price(o order) int {
	defer span("price", "")()
	subtotal := 0
	for _, l := range o.lines {
		subtotal += l.qty * l.price
	}
	discount := 0
	if o.tier == "platinum" {
		discount = subtotal / 10
	}
	log(levelDebug, fmt.Sprintf("subtotal %s, discount %s (tier %s)", money(subtotal), money(discount), o.tier))
	time.Sleep(time.Millisecond)
	return subtotal - discount
}

func charge(o order, total int) error {
	defer span("charge", "payment.method:card,payment.amount:"+money(total))()
	// The first authorisation attempt "times out"; the second one goes
	// through the gateway.
	time.Sleep(time.Millisecond)
	log(levelWarn, "card retry")
	defer span("payment_gateway", "http.method:POST,http.url:https://pay.example.com/v1/charges,attempt:2")()
	time.Sleep(3 * time.Millisecond)
	return nil
}

// money formats cents as a decimal amount.
func money(cents int) string {
	return fmt.Sprintf("%d.%02d", cents/100, cents%100)
}
